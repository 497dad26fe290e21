package client_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/repo"
)

// TestListPagePrefix: a revision's packages page by path through the REST
// route and the client as they do locally, with or without a prefix.
func TestListPagePrefix(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	st := e.svc.Store()
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	b := st.Objects().NewBatch()
	blob, err := b.PutBlob(ctx, bytes.NewReader([]byte("x")))
	require.NoError(t, err)
	require.NoError(t, b.Flush(ctx))
	var recs []repo.Record
	var want []string
	for i := range 250 {
		p := [...]string{"d7/f%03d.whl", "d70/g%03d.whl", "d7.%03d.txt", "e/h%03d"}[i%4]
		p = fmt.Sprintf(p, i)
		recs = append(recs, repo.Record{Path: p, SHA256: blob.ID, Size: blob.Size})
		want = append(want, p)
	}
	sort.Strings(want)
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: recs})
	require.NoError(t, err)
	filter := func(prefix string) []string {
		out := []string{}
		for _, p := range want {
			if strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
		return out
	}

	// Following the route's pages and Link headers.
	follow := func(prefix string, limit int) []string {
		got := []string{}
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		path := "/api/v1/revisions/r/packages?" + q.Encode()
		for pages := 0; ; pages++ {
			require.Less(t, pages, 1000)
			resp := e.get(e.admin, path)
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			var pg wire.Page[repo.Record]
			require.NoError(t, jsonUnmarshal(raw, &pg))
			require.LessOrEqual(t, len(pg.Items), limit)
			for _, r := range pg.Items {
				require.NotNil(t, r.Metadata)
				got = append(got, r.Path)
			}
			link := resp.Header.Get("Link")
			if pg.Next == "" {
				require.Empty(t, link)
				return got
			}
			require.Len(t, pg.Items, limit)
			require.True(t, strings.HasPrefix(link, "<") && strings.HasSuffix(link, `>; rel="next"`), link)
			path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			u, err := url.Parse(path)
			require.NoError(t, err)
			require.Equal(t, pg.Next, u.Query().Get("cursor"))
			require.Equal(t, prefix, u.Query().Get("prefix"), "the next page keeps the prefix")
		}
	}
	c := e.client(e.admin)
	for _, prefix := range []string{"", "d7/", "d7", "d70/", "e/", "zz"} {
		for _, limit := range []int{1, 9, 62, 250, 10_000} {
			require.Equal(t, filter(prefix), follow(prefix, limit), "prefix %q limit %d", prefix, limit)
		}
		// The client and the local service page alike.
		for _, o := range []repo.ListOptions{
			{Prefix: prefix},
			{Prefix: prefix, Limit: 5},
			{Prefix: prefix, Limit: 5, After: "d7/f100.whl"},
			{Prefix: prefix, Limit: 1000, After: "d7.1"},
			{Prefix: prefix, After: want[len(want)-1]},
		} {
			lr, lnext, err := e.svc.ListPage(ctx, "r", o)
			require.NoError(t, err)
			cr, cnext, err := c.ListPage(ctx, "r", o)
			require.NoError(t, err)
			require.Equal(t, lr, cr, "%+v", o)
			require.Equal(t, lnext, cnext, "%+v", o)
		}
	}
	all, err := c.List(ctx, "r")
	require.NoError(t, err)
	local, err := e.svc.List(ctx, "r")
	require.NoError(t, err)
	require.Equal(t, local, all)

	// A cursor past the end is an empty last page; a bad one, or a limit
	// out of bounds, is refused.
	resp := e.get(e.admin, "/api/v1/revisions/r/packages?cursor="+wire.EncodeCursor("zzz"))
	var pg wire.Page[repo.Record]
	require.NoError(t, decodeJSON(resp, &pg))
	require.Empty(t, pg.Items)
	require.NotNil(t, pg.Items)
	require.Empty(t, pg.Next)
	require.Empty(t, resp.Header.Get("Link"))
	for _, q := range []string{"cursor=%25%25", "limit=0", "limit=10001"} {
		req, err := http.NewRequest(http.MethodGet, e.ts.URL+"/api/v1/revisions/r/packages?"+q, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.GreaterOrEqual(t, resp.StatusCode, 400, q)
		require.Less(t, resp.StatusCode, 500, q)
	}
	_, _, err = c.ListPage(ctx, "nope", repo.ListOptions{Prefix: "x"})
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
}
