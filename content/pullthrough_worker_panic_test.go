package content_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	rpypi "github.com/pkgvc/pkgvc/kinds/python/upstream"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// buggyPyPI is the python syncer with a bug in the goroutines that read
// project pages: the size lookup of a file the page gives no size for
// panics.
type buggyPyPI struct{ rpypi.Syncer }

func (b buggyPyPI) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	up.KnownSize = func(context.Context, objects.ID) (int64, bool) { panic("bug in a project page") }
	return b.Syncer.Index(ctx, up)
}

// A panic in a goroutine a pull-through starts (not the request's, nor
// the pull batch's) fails the request 500, is logged with its stack, and
// serve goes on.
func TestPullThroughWorkerPanic(t *testing.T) {
	ctx := context.Background()
	whl, data := pythontest.Spec{Name: "alpha", Version: "1.0"}.Wheel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/alpha/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!DOCTYPE html><a href="/files/%s#sha256=%s">%[1]s</a>`, whl, objects.Sum(data))
		case "/files/" + whl:
			_, _ = w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(up.Close)

	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), puball.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "down", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	mgr := remote.New(st, remote.NewRegistry(buggyPyPI{}))
	_, err = mgr.Create(ctx, remote.Remote{Name: "up", Kind: "python", URL: up.URL + "/simple/"})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "down", dist.DistSpec{BasePath: "down", Repo: "down", Remote: "up"})
	require.NoError(t, err)
	pull := func(ctx context.Context, rem, rp string, projects []string) (content.PullResult, error) {
		res, err := mgr.PullProjects(ctx, rem, rp, projects)
		if err != nil {
			return content.PullResult{}, err
		}
		return content.PullResult{NotFound: res.NotFound, Failed: res.Failed}, nil
	}
	logged := &lockedBuffer{}
	srv := content.NewServer(st, dists, publish.NewPublications(st, puball.Publishers(), 8),
		content.WithPullThrough(pull), content.WithLogger(slog.New(slog.NewTextHandler(logged, nil))))
	base := startServer(t, "content.Serve", srv)

	resp, body := get(t, "GET", base+"/content/down/simple/alpha/")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "%s", body)
	require.NotContains(t, string(body), "goroutine", "the stack is for the log")
	log := logged.String()
	require.Contains(t, log, "bug in a project page")
	require.Contains(t, log, "pullthrough_worker_panic_test.go", "the stack is logged")

	resp, body = get(t, "GET", base+content.HealthPath)
	require.Equal(t, http.StatusOK, resp.StatusCode, "serve goes on: %s", body)
}
