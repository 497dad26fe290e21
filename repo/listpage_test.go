package repo_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/repotest"
)

// pagePaths lists rev page by page with o's prefix and limit, checking
// each page's size and next.
func pagePaths(t *testing.T, s *repo.Store, rev string, o repo.ListOptions) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10_000, "paging does not end")
		recs, next, err := s.ListPage(context.Background(), rev, o)
		require.NoError(t, err)
		if o.Limit > 0 {
			require.LessOrEqual(t, len(recs), o.Limit)
		}
		for _, r := range recs {
			got = append(got, r.Path)
		}
		if next == "" {
			return got
		}
		require.Len(t, recs, o.Limit, "a page with a next is full")
		require.Equal(t, recs[len(recs)-1].Path, next)
		o.After = next
	}
}

func filtered(all []string, prefix string) []string {
	out := []string{}
	for _, p := range all {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

func TestListPage(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	rng := rand.New(rand.NewPCG(1, 2))
	b := e.s.Objects().NewBatch()
	blob, err := b.PutBlob(e.ctx, bytes.NewReader([]byte("x")))
	require.NoError(t, err)
	require.NoError(t, b.Flush(e.ctx))
	var recs []repo.Record
	var want []string
	for i := 0; i < 700; i++ {
		var p string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf("d7/f%04d.whl", i)
		case 1:
			p = fmt.Sprintf("d70/g%04d.whl", rng.IntN(1_000_000))
		case 2:
			p = fmt.Sprintf("e%d/h%06d.tar.gz", rng.IntN(20), i)
		default:
			p = fmt.Sprintf("d7.%04d.txt", i)
		}
		if !strings.HasPrefix(p, "d70/") || !containsString(want, p) {
			recs = append(recs, repo.Record{Path: p, SHA256: blob.ID, Size: blob.Size})
			want = append(want, p)
		}
	}
	sort.Strings(want)
	_, err = e.s.Commit(e.ctx, "dev", repo.CommitRequest{Records: recs})
	require.NoError(t, err)

	full, err := e.s.List(e.ctx, "dev")
	require.NoError(t, err)
	var fullPaths []string
	for _, r := range full {
		fullPaths = append(fullPaths, r.Path)
	}
	require.Equal(t, want, fullPaths)

	for _, limit := range []int{0, 1, 7, 32, 699, 700, 701, 10_000} {
		for _, prefix := range []string{"", "d7/", "d7", "d70/", "e1", "e19/", "zz", "d7/f0", "\xff"} {
			got := pagePaths(t, e.s, "dev", repo.ListOptions{Prefix: prefix, Limit: limit})
			require.Equal(t, filtered(want, prefix), nilIfEmpty(got), "limit %d prefix %q", limit, prefix)
		}
	}

	// A page with no limit holds everything; one that ends exactly at the
	// end has no next.
	recs2, next, err := e.s.ListPage(e.ctx, "dev", repo.ListOptions{Limit: len(want)})
	require.NoError(t, err)
	require.Len(t, recs2, len(want))
	require.Empty(t, next)
	recs2, next, err = e.s.ListPage(e.ctx, "dev", repo.ListOptions{Limit: len(want) - 1})
	require.NoError(t, err)
	require.Len(t, recs2, len(want)-1)
	require.Equal(t, want[len(want)-2], next)

	// After need not name a record: the page starts past it.
	recs2, _, err = e.s.ListPage(e.ctx, "dev", repo.ListOptions{After: "d7/f0002", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"d7/f0004.whl", "d7/f0008.whl"}, []string{recs2[0].Path, recs2[1].Path})
	// After before the prefix starts at the prefix; after it, nothing.
	recs2, _, err = e.s.ListPage(e.ctx, "dev", repo.ListOptions{Prefix: "e1/", After: "a", Limit: 3})
	require.NoError(t, err)
	require.Equal(t, filtered(want, "e1/")[:3], pathsOf(recs2))
	for _, after := range []string{want[len(want)-1], "zzz", "e1/\xff", "e2"} {
		o := repo.ListOptions{After: after, Limit: 5}
		if after != want[len(want)-1] && after != "zzz" {
			o.Prefix = "e1/"
		}
		recs2, next, err = e.s.ListPage(e.ctx, "dev", o)
		require.NoError(t, err, after)
		require.Empty(t, recs2, after)
		require.NotNil(t, recs2, "an empty page is an empty list")
		require.Empty(t, next, after)
	}

	_, _, err = e.s.ListPage(e.ctx, "nope", repo.ListOptions{Limit: 1})
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	_, _, err = e.s.ListPage(e.ctx, "dev@9", repo.ListOptions{Limit: 1})
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func nilIfEmpty(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func pathsOf(recs []repo.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Path)
	}
	return out
}

// TestListPageCostFollowsThePage: a 10-record page from a cursor deep in
// the version, and a 10-record prefix, read at 100 000 records at most 3
// times the objects they read at 1 000, on a store that has read nothing.
func TestListPageCostFollowsThePage(t *testing.T) {
	reads := func(n int) (page, prefix int64) {
		ctx := context.Background()
		sp := repotest.NewSpread(t, all.Kinds(), n, 10)
		be := sp.Objects

		cost := func(o repo.ListOptions) int64 {
			// A store that has read nothing yet caches nothing.
			st2 := sp.Fresh()
			before := be.Opens.Load()
			got, next, err := st2.ListPage(ctx, "r", o)
			require.NoError(t, err)
			require.Len(t, got, 10)
			if o.Prefix != "" {
				require.Empty(t, next)
				for _, r := range got {
					require.True(t, strings.HasPrefix(r.Path, o.Prefix), r.Path)
				}
			} else {
				require.NotEmpty(t, next)
			}
			return be.Opens.Load() - before
		}
		// The page after the middle record of e25/.
		return cost(repo.ListOptions{After: fmt.Sprintf("e25/p%06d.whl", n/2/50*50+25), Limit: 10}),
			cost(repo.ListOptions{Prefix: "d7/", Limit: 1000})
	}
	smallPage, smallPrefix := reads(1_000)
	largePage, largePrefix := reads(100_000)
	t.Logf("objects read for a 10-record page: %d at 1 000 records, %d at 100 000; for a 10-record prefix: %d, %d",
		smallPage, largePage, smallPrefix, largePrefix)
	require.LessOrEqual(t, largePage, 3*smallPage)
	require.LessOrEqual(t, largePrefix, 3*smallPrefix)
}
