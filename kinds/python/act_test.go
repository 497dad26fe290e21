package python_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

// The store runs yank as the python kind's action, its request the JSON
// of the REST API's body; other actions and kinds without actions are
// not found.
func TestYankAction(t *testing.T) {
	ctx := context.Background()
	st := pyStore(t)
	_, err := st.CreateRepo(ctx, "files", repo.CreateOptions{})
	require.NoError(t, err)
	fn, data := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
	f := filepath.Join(t.TempDir(), fn)
	require.NoError(t, os.WriteFile(f, data, 0o644))
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{{Path: fn, File: f}}})
	require.NoError(t, err)

	res, err := st.Act(ctx, "py", "python", python.ActionYank, json.RawMessage(`{"file":"`+fn+`","reason":"broken"}`))
	require.NoError(t, err)
	require.True(t, res.Changed)
	rec, err := st.Stat(ctx, "py", fn)
	require.NoError(t, err)
	require.Equal(t, "true", rec.Metadata[python.MetaYanked])
	require.Equal(t, "broken", rec.Metadata[python.MetaYankedReason])
	res, err = st.Act(ctx, "py", "python", python.ActionYank, json.RawMessage(`{"file":"`+fn+`","unyank":true}`))
	require.NoError(t, err)
	require.True(t, res.Changed)

	_, err = st.Act(ctx, "py", "python", python.ActionYank, json.RawMessage(`{"file":`))
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = st.Act(ctx, "py", "python", "delete", json.RawMessage(`{}`))
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = st.Act(ctx, "files", "file", python.ActionYank, json.RawMessage(`{"file":"x"}`))
	require.ErrorIs(t, err, repo.ErrNotFound, "the file kind has no actions")
	_, err = st.Act(ctx, "files", "nokind", python.ActionYank, json.RawMessage(`{}`))
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = st.Act(ctx, "files", "python", python.ActionYank, json.RawMessage(`{"file":"x"}`))
	require.ErrorIs(t, err, repo.ErrInvalid, "a python action on a file repository")
}
