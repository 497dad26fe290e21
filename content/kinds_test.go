package content_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	filepub "github.com/pkgvc/pkgvc/kinds/file/publication"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// dropKind is the file kind's publisher with the content server
// capabilities a kind may add: uploads of a raw body to drop/, named by
// the X-Name header, and projects as top-level directories proj/<name>/.
type dropKind struct{ filepub.Publisher }

func (dropKind) UploadDir() string { return "drop/" }

func (dropKind) ReadUpload(r *http.Request, stage func(string, io.Reader) (*content.Staged, error)) (*content.Staged, error) {
	return stage(r.Header.Get("X-Name"), r.Body)
}

func (dropKind) PullProject(sub string) (string, bool) {
	rest, ok := strings.CutPrefix(sub, "proj/")
	name, _, _ := strings.Cut(rest, "/")
	if !ok || name == "" {
		return "", false
	}
	return strings.ToLower(name), false
}

func (dropKind) ProjectPage(project string) string     { return "proj/" + project + "/index" }
func (dropKind) DerivedFrom(sub string) (string, bool) { return "", false }

// The content server serves uploads and pull-through through whichever
// kind's publisher has the capability: here the file kind, which it knows
// by no name.
func TestKindCapabilities(t *testing.T) {
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), all.Kinds())
	require.NoError(t, err)
	for _, n := range []string{"files", "pulled"} {
		_, err = st.CreateRepo(ctx, n, repo.CreateOptions{})
		require.NoError(t, err)
	}
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "files", dist.DistSpec{BasePath: "files", Repo: "files"})
	require.NoError(t, err)
	_, err = dists.Create(ctx, "pulled", dist.DistSpec{BasePath: "pulled", Repo: "pulled", Remote: "up"})
	require.NoError(t, err)
	tokens := auth.New(st, auth.WithCacheTTL(time.Millisecond))
	var (
		mu     sync.Mutex
		pulled []string
	)
	tmp := t.TempDir()
	pull := func(ctx context.Context, rem, rp string, projects []string) (content.PullResult, error) {
		mu.Lock()
		pulled = append(pulled, projects...)
		mu.Unlock()
		var adds []repo.Add
		for _, p := range projects {
			f := filepath.Join(tmp, p)
			if err := os.WriteFile(f, []byte(p+"\n"), 0o644); err != nil {
				return content.PullResult{}, err
			}
			adds = append(adds, repo.Add{Path: "proj/" + p + "/data.txt", File: f})
		}
		_, err := st.Commit(ctx, rp, repo.CommitRequest{Adds: adds, Message: "pull"})
		return content.PullResult{}, err
	}
	srv := content.NewServer(st, dists, publish.NewPublications(st, publish.NewRegistry(dropKind{}), 8),
		content.WithAuth(tokens), content.WithUploads(uploads.New(st)), content.WithPullThrough(pull))
	base := startServer(t, "content.Serve", srv)
	writer := mintToken(t, ctx, tokens, "ci", "repo:files:write")

	req, err := http.NewRequest(http.MethodPost, base+"/content/files/drop/", strings.NewReader("hello\n"))
	require.NoError(t, err)
	req.Header.Set("X-Name", "hello.txt")
	req.SetBasicAuth("__token__", writer)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(msg))
	resp, got := get(t, http.MethodGet, base+"/content/files/hello.txt")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "hello\n", string(got))

	// The server names no other kind's upload path: twine's is not one.
	resp, msg2 := post(t, base+"/content/files/legacy/", writer, "text/plain", []byte("x"))
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, msg2)

	// A path about a project the repository lacks pulls it, once.
	resp, got = get(t, http.MethodGet, base+"/content/pulled/proj/Alpha/data.txt")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the kind normalized the name: the pull brought proj/alpha/")
	resp, got = get(t, http.MethodGet, base+"/content/pulled/proj/alpha/data.txt")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(got))
	require.Equal(t, "alpha\n", string(got))
	mu.Lock()
	require.Equal(t, []string{"alpha"}, pulled)
	mu.Unlock()
}
