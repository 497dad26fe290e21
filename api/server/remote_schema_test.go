package server_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/app"
)

// The Remote schema documents the settings of each kind beside the
// common fields, and lets a remote have them.
func TestRemoteSchemaHasKindSettings(t *testing.T) {
	ap, err := app.Open(context.Background(), t.TempDir(), app.WithCreate())
	require.NoError(t, err)
	srv, err := ap.APIServer()
	require.NoError(t, err)
	raw, err := srv.OpenAPI()
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type        any    `json:"type"`
					Description string `json:"description"`
				} `json:"properties"`
				AdditionalProperties any `json:"additionalProperties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	sch, ok := doc.Components.Schemas["Remote"]
	require.True(t, ok)
	require.Equal(t, true, sch.AdditionalProperties)
	require.Contains(t, sch.Properties, "url", "the common fields")
	require.Equal(t, "string", sch.Properties["upstream_name"].Type)
	require.Equal(t, "array", sch.Properties["projects"].Type)
	require.Equal(t, "integer", sch.Properties["latest"].Type)
	require.Contains(t, sch.Properties["platforms"].Description, "python: ")
	require.Contains(t, sch.Properties["platforms"].Description, "container: ")
	require.NotContains(t, sch.Properties, "options")
}
