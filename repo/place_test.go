package repo_test

import (
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/file"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// poolKind files each package under pool/<component>/<first letter>/,
// as apt repositories do: the component is a commit option, the letter
// comes from the package's own content.
type poolKind struct{}

func (poolKind) Name() string { return "pool" }
func (poolKind) Inspect(_ context.Context, _ string, r io.ReaderAt, size int64) (map[string]string, error) {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return map[string]string{"package": strings.TrimSpace(string(b))}, nil
}
func (poolKind) CommitOptions() []repo.CommitOption {
	return []repo.CommitOption{{Name: "component", Usage: "the component a package joins"}}
}
func (poolKind) Place(p string, meta, opts map[string]string) (string, error) {
	if strings.HasPrefix(p, "pool/") {
		return p, nil
	}
	comp := opts["component"]
	if comp == "" {
		comp = "main"
	}
	return "pool/" + comp + "/" + meta["package"][:1] + "/" + path.Base(p), nil
}

func TestCommitPlacesFilesByKind(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(file.Kind{}, poolKind{}), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{Kind: "pool"})
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	hello, world := write("hello_1.0.deb", "hello"), write("world_2.0.deb", "world")

	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "hello_1.0.deb", File: hello}}})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "world_2.0.deb", File: world}}, Options: map[string]string{"component": "contrib"}})
	require.NoError(t, err)
	recs, err := st.List(ctx, "r")
	require.NoError(t, err)
	var paths []string
	for _, r := range recs {
		paths = append(paths, r.Path)
	}
	require.Equal(t, []string{"pool/contrib/w/world_2.0.deb", "pool/main/h/hello_1.0.deb"}, paths)

	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "x.deb", File: hello}}, Options: map[string]string{"section": "web"}})
	require.ErrorIs(t, err, repo.ErrInvalid, "an option the kind does not declare")
	require.Contains(t, err.Error(), `"section"`)

	again := write("other.deb", "hello")
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "a/hello_1.0.deb", File: hello}, {Path: "b/hello_1.0.deb", File: again}}})
	require.ErrorIs(t, err, repo.ErrInvalid, "two files placed at one path")

	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "hello_1.0.deb", File: hello}}, Removes: []string{"pool/main/h/hello_1.0.deb"}})
	require.ErrorIs(t, err, repo.ErrInvalid, "a file placed where the same commit removes")

	// A record uploaded by digest and inspected is placed too.
	id := objects.Sum([]byte("world"))
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: []repo.Record{{Path: "world_2.0.deb", SHA256: id, Size: 5}}, InspectRecords: true, Options: map[string]string{"component": "non-free"}})
	require.NoError(t, err)
	_, err = st.Stat(ctx, "r", "pool/non-free/w/world_2.0.deb")
	require.NoError(t, err)

	fileRepo, err := st.CreateRepo(ctx, "plain", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = st.Commit(ctx, fileRepo.Name, repo.CommitRequest{Adds: []repo.Add{{Path: "x", File: hello}}, Options: map[string]string{"component": "main"}})
	require.ErrorIs(t, err, repo.ErrInvalid, "the file kind takes no commit option")
}
