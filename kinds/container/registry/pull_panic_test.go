package registry_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/repo"
)

// A pull-through that failed on a panic in one of its workers (recovered
// there, see remote/oci) is a bug of the server: 500, the stack logged,
// not a 502 blaming the upstream.
func TestPullThroughPanicIsInternal(t *testing.T) {
	pull := func(context.Context, string, string, []string) (content.PullResult, error) {
		err := parallel.Safe(func() error { panic("bug in a pull worker") })
		return content.PullResult{}, fmt.Errorf("pull hub: %w", err)
	}
	var mu sync.Mutex
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	f := newFixture(t, content.WithPullThrough(pull), content.WithLogger(log))
	_, err := f.st.CreateRepo(f.ctx, "cache", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	_, err = f.dists.Create(f.ctx, "cache", dist.DistSpec{BasePath: "cache/alpine", Repo: "cache", Remote: "hub"})
	require.NoError(t, err)

	resp, body := f.do(http.MethodGet, "/v2/cache/alpine/manifests/3", "", nil)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode, string(body))
	require.NotContains(t, string(body), "goroutine")
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, logs.String(), "bug in a pull worker")
	require.Contains(t, logs.String(), "pull_panic_test.go", "the stack is logged")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
