package remote_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	fileupstream "github.com/pkgvc/pkgvc/kinds/file/upstream"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// dirSyncer is a file upstream read one top-level directory (a
// "project") at a time, its names spelled in any case.
type dirSyncer struct{ fileupstream.Syncer }

func (dirSyncer) NormalizeProject(name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, "/ ") {
		return "", false
	}
	return strings.ToLower(name), true
}

func (dirSyncer) ForProject(r remote.Remote, project string) (remote.Remote, error) {
	var err error
	r.Options, err = r.Options.With("dir", project)
	return r, err
}

func (s dirSyncer) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	all, err := s.Syncer.Index(ctx, up)
	var dir struct {
		Dir string `json:"dir"`
	}
	if err != nil || up.Remote.Options.Decode(&dir) != nil || dir.Dir == "" {
		return all, err
	}
	return slices.DeleteFunc(all, func(p remote.Package) bool {
		return !strings.HasPrefix(p.Path, dir.Dir+"/")
	}), nil
}

// PullProjects reads projects through the kind's ProjectNormalizer, not
// a kind it knows by name: each spelling of a project is pulled once.
func TestPullProjectsNormalizer(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "up")
	writeTree(t, dir, map[string][]byte{"a/one.txt": []byte("one\n"), "b/two.txt": []byte("two\n")})
	base := httpxtest.StaticServer(t, dir)
	e.remote(base + "PULP_MANIFEST")

	// The file kind reads no single projects.
	_, err := e.m.PullProjects(e.ctx, "up", "mirror", []string{"a"})
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Contains(t, err.Error(), "cannot pull single projects")

	m := remote.New(e.st, remote.NewRegistry(dirSyncer{}), remote.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	_, err = m.PullProjects(e.ctx, "up", "mirror", []string{"a/b"})
	require.ErrorIs(t, err, repo.ErrInvalid, "the kind refuses the name")
	res, err := m.PullProjects(e.ctx, "up", "mirror", []string{"A", "a"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Added)
	recs := e.records()
	require.Contains(t, recs, "a/one.txt")
	require.NotContains(t, recs, "b/two.txt")
}
