package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

func TestDecodeCommit(t *testing.T) {
	id := objects.Sum([]byte("x"))
	rec := `{"path":"a.txt","sha256":"` + id.String() + `","size":1,"metadata":{"k":"v"}}`
	t.Run("fields", func(t *testing.T) {
		req, err := decodeCommit(strings.NewReader(`{"records":[`+rec+`,`+rec+`],"removes":["b","c"],"message":"m","author":"me",`+
			`"allow_empty":true,"no_replace":true,"options":{"component":"contrib"},"unknown":{"x":[1,2]}}`), 1<<20)
		require.NoError(t, err)
		require.Equal(t, repo.CommitRequest{
			Records:        []repo.Record{{Path: "a.txt", SHA256: id, Size: 1, Metadata: map[string]string{"k": "v"}}, {Path: "a.txt", SHA256: id, Size: 1, Metadata: map[string]string{"k": "v"}}},
			Removes:        []string{"b", "c"},
			Message:        "m",
			Author:         "me",
			AllowEmpty:     true,
			NoReplace:      true,
			Options:        map[string]string{"component": "contrib"},
			InspectRecords: true,
		}, req)
	})
	t.Run("nulls", func(t *testing.T) {
		req, err := decodeCommit(strings.NewReader(`{"records":null,"removes":null,"message":"m"}`), 1<<20)
		require.NoError(t, err)
		require.Empty(t, req.Records)
		require.Equal(t, "m", req.Message)
	})
	for _, tc := range []struct{ name, body, want string }{
		{"empty", ``, "request body is required"},
		{"not an object", `[1]`, "invalid commit body"},
		{"records not an array", `{"records":{}}`, "invalid commit body"},
		{"bad record", `{"records":[{"path":"","size":1}]}`, `invalid record ""`},
		{"negative size", `{"records":[{"path":"a","size":-1}]}`, `invalid record "a"`},
		{"cut", `{"records":[` + rec, "invalid commit body"},
		{"trailing data", `{"message":"m"} {}`, "invalid commit body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeCommit(strings.NewReader(tc.body), 1<<20)
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("too large", func(t *testing.T) {
		body := `{"records":[` + strings.Repeat(rec+",", 1000) + rec + `]}`
		_, err := decodeCommit(strings.NewReader(body), int64(len(body)-1))
		require.ErrorIs(t, err, wire.ErrTooLarge)
		_, err = decodeCommit(strings.NewReader(body), int64(len(body)))
		require.NoError(t, err)
	})
}
