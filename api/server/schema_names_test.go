package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/auth"
)

// The OpenAPI document names its schemas as the API always has, whichever
// package a type lives in: the wire bodies and the task types are the
// API's own (Task, TaskRequest, Error, PageTask), not WireError or
// TasksTask, so that generated clients keep their type names.
func TestSchemaNamesStable(t *testing.T) {
	ctx := context.Background()
	ap, err := app.Open(ctx, t.TempDir(), app.WithCreate())
	require.NoError(t, err)
	svc := ap.Service()
	srv, err := server.New(svc, auth.New(svc.Store()))
	require.NoError(t, err)
	raw, err := srv.OpenAPI()
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	for _, name := range []string{"Task", "TaskRequest", "Progress", "Schedule", "Error", "PageTask",
		"PageSchedule", "CommitBody", "RecordBody", "TokenCreated", "Upload", "Blob", "DistBody"} {
		require.Contains(t, doc.Components.Schemas, name)
	}
	for name := range doc.Components.Schemas {
		require.False(t, strings.HasPrefix(name, "Wire") || strings.HasPrefix(name, "Tasks"), "schema %s is named after its Go package", name)
	}
}
