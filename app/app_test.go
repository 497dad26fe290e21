package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	apiserver "github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/repo"
)

// servers opens a store with a private distribution and serves its
// content and its REST API, as pkgvc serve does, on two listeners.
func servers(t *testing.T, failures int) (contentURL, api string) {
	t.Helper()
	ctx := context.Background()
	a, err := app.Open(ctx, "file://"+filepath.Join(t.TempDir(), "store"), app.WithCreate(),
		app.WithAuthLimit(failures, time.Minute, time.Minute))
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	_, err = a.Store().CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = a.Store().Commit(ctx, "r", repo.CommitRequest{Message: "empty", AllowEmpty: true})
	require.NoError(t, err)
	private := true
	_, err = a.Dists().Create(ctx, "d", dist.DistSpec{BasePath: "d", Repo: "r", Private: &private})
	require.NoError(t, err)
	apiSrv, err := a.APIServer()
	require.NoError(t, err)
	cs := httptest.NewServer(a.ContentServer())
	t.Cleanup(cs.Close)
	as := httptest.NewServer(apiSrv)
	t.Cleanup(as.Close)
	return cs.URL + content.ContentPrefix + "d/", as.URL + apiserver.Prefix + "/repositories"
}

func get(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// A password guesser gets one budget of failed authentications for the
// content server and the REST API together.
func TestOneAuthLimiter(t *testing.T) {
	const failures = 3
	for _, order := range []struct{ name string }{{"content then api"}, {"api then content"}} {
		t.Run(order.name, func(t *testing.T) {
			contentURL, api := servers(t, failures)
			first, second := contentURL, api
			if order.name == "api then content" {
				first, second = api, contentURL
			}
			for i := 0; i < failures; i++ {
				require.Equal(t, http.StatusUnauthorized, get(t, first), "failure %d", i+1)
			}
			require.Equal(t, http.StatusTooManyRequests, get(t, second), "the other server counts the same failures")
			require.Equal(t, http.StatusTooManyRequests, get(t, first))
		})
	}
}
