package content_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/repotest"
)

func getPath(s http.Handler, path string) (int, string) {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code, w.Body.String()
}

// TestListingCostFollowsTheDirectory: the first listing of a 10-entry
// directory after a 1-file commit reads what the directory holds, not the
// version: at 100 000 files it reads at most 3 times what it does at 1 000.
// The file kind's publication (PULP_MANIFEST, which lists the version)
// is not generated for a listing of a directory it has no file in.
func TestListingCostFollowsTheDirectory(t *testing.T) {
	reads := func(n int) (warm, cold int64) {
		ctx := context.Background()
		sp := repotest.NewSpread(t, all.Kinds(), n-1, 9)
		st, be, rec := sp.St, sp.Objects, sp.Record
		dists := dist.NewDists(st)
		_, err := dists.Create(ctx, "d", dist.DistSpec{BasePath: "d", Repo: "r"})
		require.NoError(t, err)
		s := content.NewServer(st, dists, publish.NewPublications(st, puball.Publishers(), 8))
		c, body := getPath(s, "/content/d/d7/")
		require.Equal(t, http.StatusOK, c)
		require.Contains(t, body, "f8.whl")

		_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: []repo.Record{rec("d7/new.whl")}})
		require.NoError(t, err)
		list := func(s *content.Server) int64 {
			before := be.Opens.Load()
			c, body := getPath(s, "/content/d/d7/")
			require.Equal(t, http.StatusOK, c)
			require.Contains(t, body, "new.whl")
			require.Equal(t, 10, bytes.Count([]byte(body), []byte(".whl</a>")))
			return be.Opens.Load() - before
		}
		warm = list(s)
		c, body = getPath(s, "/content/d/")
		require.Equal(t, http.StatusOK, c)
		require.Contains(t, body, ">PULP_MANIFEST</a>", "the root lists the publication")
		// A server that has read nothing yet: its store caches nothing (it
		// shares the documents, as processes on one store directory do).
		st2 := sp.Fresh()
		return warm, list(content.NewServer(st2, dist.NewDists(st2), publish.NewPublications(st2, puball.Publishers(), 8)))
	}
	smallWarm, smallCold := reads(1_000)
	largeWarm, largeCold := reads(100_000)
	t.Logf("objects read by a listing after a commit: %d (%d uncached) at 1 000 files, %d (%d uncached) at 100 000",
		smallWarm, smallCold, largeWarm, largeCold)
	require.LessOrEqual(t, largeWarm, 3*smallWarm)
	require.LessOrEqual(t, largeCold, 3*smallCold)
	require.LessOrEqual(t, largeCold, int64(40))
}
