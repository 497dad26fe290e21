package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/repotest"
)

// TestPackagesPageCostFollowsThePage: one 10-record page of a revision's
// packages from a cursor deep in the version, and a 10-record prefix,
// read at 100 000 records at most 3 times the objects they read at 1 000,
// on a server that has read nothing yet.
func TestPackagesPageCostFollowsThePage(t *testing.T) {
	reads := func(n int) (page, prefix int64) {
		ctx := context.Background()
		sp := repotest.NewSpread(t, all.Kinds(), n, 10)
		st, be := sp.St, sp.Objects
		scope, err := auth.ParseScope("*:*:admin")
		require.NoError(t, err)
		_, admin, err := auth.New(st).Create(ctx, auth.CreateOptions{Name: "admin", Scopes: []auth.Scope{scope}})
		require.NoError(t, err)

		cost := func(q url.Values, wantNext bool) int64 {
			// A server on a store that has read nothing yet (it shares
			// the documents, as processes on one store directory do).
			st2 := sp.Fresh()
			srv, err := server.New(app.New(st2).Service(), auth.New(st2, auth.WithCacheTTL(0)))
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, wire.Prefix+"/revisions/r/packages?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			w := httptest.NewRecorder()
			before := be.Opens.Load()
			srv.ServeHTTP(w, req)
			reads := be.Opens.Load() - before
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var pg wire.Page[repo.Record]
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &pg))
			require.Len(t, pg.Items, 10)
			require.Equal(t, wantNext, pg.Next != "")
			if p := q.Get("prefix"); p != "" {
				for _, r := range pg.Items {
					require.True(t, strings.HasPrefix(r.Path, p), r.Path)
				}
			}
			return reads
		}
		after := fmt.Sprintf("e25/p%06d.whl", n/2/50*50+25)
		return cost(url.Values{"limit": {"10"}, "cursor": {wire.EncodeCursor(after)}}, true),
			cost(url.Values{"prefix": {"d7/"}}, false)
	}
	smallPage, smallPrefix := reads(1_000)
	largePage, largePrefix := reads(100_000)
	t.Logf("objects read for a 10-record page: %d at 1 000 records, %d at 100 000; for a 10-record prefix: %d, %d",
		smallPage, largePage, smallPrefix, largePrefix)
	require.LessOrEqual(t, largePage, 3*smallPage)
	require.LessOrEqual(t, largePrefix, 3*smallPrefix)
}
