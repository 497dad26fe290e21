package python_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

func TestYank(t *testing.T) {
	ctx := context.Background()
	st := pyStore(t)
	dir := t.TempDir()
	var adds []repo.Add
	for _, p := range []string{"a/demo-1.0-py3-none-any.whl", "b/demo-1.0-py3-none-any.whl", "demo-2.0-py3-none-any.whl"} {
		_, data := pythontest.Spec{Name: "demo", Version: filepath.Base(p)[5:8]}.Wheel()
		f := filepath.Join(dir, filepath.Base(p)+"."+filepath.Dir(p))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		adds = append(adds, repo.Add{Path: p, File: f})
	}
	_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	meta := func(p string) map[string]string {
		rec, err := st.Stat(ctx, "py", p)
		require.NoError(t, err)
		return rec.Metadata
	}
	yank := func(req python.YankRequest) *repo.CommitResult {
		t.Helper()
		res, err := python.Yank(ctx, st, "py", req)
		require.NoError(t, err)
		return res
	}

	// By file name: a new version marks it, with the reason.
	res := yank(python.YankRequest{File: "demo-2.0-py3-none-any.whl", Reason: "broken"})
	require.True(t, res.Changed)
	require.Equal(t, 2, res.Version)
	require.Equal(t, "true", meta("demo-2.0-py3-none-any.whl")[python.MetaYanked])
	require.Equal(t, "broken", meta("demo-2.0-py3-none-any.whl")[python.MetaYankedReason])
	require.Equal(t, "demo", meta("demo-2.0-py3-none-any.whl")[python.MetaName], "the rest of the record stays")
	log, err := st.Log(ctx, "py", 1)
	require.NoError(t, err)
	require.Equal(t, "yank demo-2.0-py3-none-any.whl: broken", log[0].Message)

	// The same again: no version; another reason: only the reason changes.
	require.False(t, yank(python.YankRequest{File: "demo-2.0-py3-none-any.whl", Reason: "broken"}).Changed)
	res = yank(python.YankRequest{File: "demo-2.0-py3-none-any.whl", Reason: "use 2.1"})
	require.Equal(t, 3, res.Version)
	require.Equal(t, "use 2.1", meta("demo-2.0-py3-none-any.whl")[python.MetaYankedReason])

	// Unyank clears both; unyanking again changes nothing.
	res = yank(python.YankRequest{File: "demo-2.0-py3-none-any.whl", Unyank: true})
	require.Equal(t, 4, res.Version)
	require.Equal(t, "false", meta("demo-2.0-py3-none-any.whl")[python.MetaYanked])
	require.NotContains(t, meta("demo-2.0-py3-none-any.whl"), python.MetaYankedReason)
	require.False(t, yank(python.YankRequest{File: "demo-2.0-py3-none-any.whl", Unyank: true}).Changed)

	// A name two paths share needs the path; a path works.
	_, err = python.Yank(ctx, st, "py", python.YankRequest{File: "demo-1.0-py3-none-any.whl"})
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, "give its path")
	res = yank(python.YankRequest{File: "b/demo-1.0-py3-none-any.whl"})
	require.Equal(t, 5, res.Version)
	require.Equal(t, "true", meta("b/demo-1.0-py3-none-any.whl")[python.MetaYanked])
	require.Equal(t, "false", meta("a/demo-1.0-py3-none-any.whl")[python.MetaYanked])

	// Unknown files and repositories of other kinds are refused.
	_, err = python.Yank(ctx, st, "py", python.YankRequest{File: "nope-1.0.tar.gz"})
	require.ErrorIs(t, err, repo.ErrPathNotFound)
	_, err = st.CreateRepo(ctx, "files", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = python.Yank(ctx, st, "files", python.YankRequest{File: "x"})
	require.ErrorIs(t, err, repo.ErrInvalid)
}
