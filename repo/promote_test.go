package repo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// promoteEnv has dev with 3 versions, test at dev@2, an empty prod, and
// "side" with a version unrelated to dev.
func promoteEnv(t *testing.T) *rtEnv {
	e := newMemEnv(t)
	for _, n := range []string{"dev", "test", "prod", "side"} {
		e.create(n, repo.CreateOptions{})
	}
	e.commit("dev", map[string]string{"a.txt": "a1", "b.bin": "b1", "sub/c.dat": "c1", "sub/d.txt": "d1"})
	e.commit("dev", map[string]string{"a.txt": "a2"})
	_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	e.commit("dev", map[string]string{"b.bin": "b3"})
	e.commit("side", map[string]string{"z.bin": "z"})
	return e
}

func TestPromote(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pair     repo.Pair
		opts     repo.PromoteOptions
		wantMode string
		wantVer  int
		moved    bool
		wantHead string // revision the destination head must equal; "" for a new version
		wantErr  error
	}{
		{name: "fast-forward", pair: repo.Pair{Src: "dev", Dst: "test"}, wantMode: "fast-forward", wantVer: 3, moved: true, wantHead: "dev"},
		{name: "empty destination", pair: repo.Pair{Src: "dev", Dst: "prod"}, wantMode: "fast-forward", wantVer: 3, moved: true, wantHead: "dev"},
		{name: "older source into empty", pair: repo.Pair{Src: "dev@1", Dst: "prod"}, wantMode: "fast-forward", wantVer: 1, moved: true, wantHead: "dev@1"},
		{name: "up to date", pair: repo.Pair{Src: "dev@2", Dst: "test"}, wantMode: "up-to-date", wantVer: 2, wantHead: "dev@2"},
		{name: "backwards is not a fast-forward", pair: repo.Pair{Src: "dev@1", Dst: "test"}, wantErr: repo.ErrNotFastForward},
		{name: "unrelated is not a fast-forward", pair: repo.Pair{Src: "side", Dst: "test"}, wantErr: repo.ErrNotFastForward},
		{name: "force unrelated", pair: repo.Pair{Src: "side", Dst: "test"}, opts: repo.PromoteOptions{Force: true}, wantMode: "reset", wantVer: 1, moved: true, wantHead: "side"},
		{name: "force backwards", pair: repo.Pair{Src: "dev@1", Dst: "test"}, opts: repo.PromoteOptions{Force: true}, wantMode: "reset", wantVer: 1, moved: true, wantHead: "dev@1"},
		{name: "force up to date", pair: repo.Pair{Src: "dev@2", Dst: "test"}, opts: repo.PromoteOptions{Force: true}, wantMode: "up-to-date", wantVer: 2, wantHead: "dev@2"},
		{name: "unknown source", pair: repo.Pair{Src: "nope", Dst: "test"}, wantErr: repo.ErrRepoNotFound},
		{name: "unknown source version", pair: repo.Pair{Src: "dev@9", Dst: "test"}, wantErr: repo.ErrVersionNotFound},
		{name: "empty source", pair: repo.Pair{Src: "prod", Dst: "test"}, wantErr: repo.ErrVersionNotFound},
		{name: "unknown destination", pair: repo.Pair{Src: "dev", Dst: "nope"}, wantErr: repo.ErrRepoNotFound},
		{name: "destination is a revision", pair: repo.Pair{Src: "dev", Dst: "test@1"}, wantErr: repo.ErrInvalid},
		{name: "bad only pattern", pair: repo.Pair{Src: "dev", Dst: "test"}, opts: repo.PromoteOptions{Only: []string{"[a"}}, wantErr: repo.ErrInvalid},
		{name: "only matching nothing", pair: repo.Pair{Src: "dev", Dst: "test"}, opts: repo.PromoteOptions{Only: []string{"*.none"}}, wantErr: repo.ErrPathNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := promoteEnv(t)
			heads := map[string]objects.ID{}
			for _, n := range []string{"dev", "test", "prod", "side"} {
				heads[n] = e.head(n)
			}
			reflog := len(mustReflog(t, e, "test")) + len(mustReflog(t, e, "prod"))
			res, err := e.s.Promote(e.ctx, []repo.Pair{tc.pair}, tc.opts)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				for n, h := range heads {
					require.Equal(t, h, e.head(n), "%s moved", n)
				}
				require.Equal(t, reflog, len(mustReflog(t, e, "test"))+len(mustReflog(t, e, "prod")))
				return
			}
			before := heads[tc.pair.Dst]
			require.NoError(t, err)
			require.Len(t, res, 1)
			r := res[0]
			require.Equal(t, tc.pair.Src, r.Src)
			require.Equal(t, tc.pair.Dst, r.Dst)
			require.Equal(t, tc.wantMode, r.Mode)
			require.Equal(t, tc.wantVer, r.Version)
			require.Equal(t, tc.moved, r.Moved)
			require.Equal(t, before, r.From)
			head := e.head(tc.pair.Dst)
			require.Equal(t, head, r.To)
			require.Equal(t, e.resolve(tc.wantHead).ID, head)
			require.Equal(t, tc.wantVer, e.resolve(tc.pair.Dst).Number)
			if !tc.moved {
				require.Equal(t, reflog, len(mustReflog(t, e, "test"))+len(mustReflog(t, e, "prod")))
			}
		})
	}
}

func mustReflog(t *testing.T, e *rtEnv, name string) []repo.ReflogEntry {
	t.Helper()
	log, err := e.s.Reflog(e.ctx, name)
	require.NoError(t, err)
	return log
}

func TestPromoteNotFastForwardMessage(t *testing.T) {
	e := promoteEnv(t)
	_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "side", Dst: "test"}}, repo.PromoteOptions{})
	require.ErrorIs(t, err, repo.ErrNotFastForward)
	require.Contains(t, err.Error(), "--force")
	require.Contains(t, err.Error(), "test")
	require.Contains(t, err.Error(), "side")
}

// TestPromoteDivergedMessage: promoting the wrong way (test into dev,
// which has a version test lacks) names what dev would lose, points at
// diff, and offers --force only with what it discards.
func TestPromoteDivergedMessage(t *testing.T) {
	e := promoteEnv(t) // dev@3 is on top of test's head dev@2
	head := e.head("dev")
	_, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"p.txt": "patch"}), Message: "the patch\nsecond line"})
	require.NoError(t, err)
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "test", Dst: "dev"}}, repo.PromoteOptions{})
	require.ErrorIs(t, err, repo.ErrNotFastForward)
	msg := err.Error()
	require.Contains(t, msg, "dev has 2 version(s) that test lacks")
	require.Contains(t, msg, `dev@4 "the patch"`)
	require.Contains(t, msg, "dev@3")
	require.NotContains(t, msg, "dev@2", "test has dev@2")
	require.NotContains(t, msg, "second line")
	require.Contains(t, msg, "`pkgvc diff test dev`")
	require.Contains(t, msg, "`pkgvc promote --force test dev` would reset dev to test@2 and discard them")
	require.NotEqual(t, head, e.head("test"))
	require.Equal(t, 4, e.resolve("dev").Number, "refused: dev did not move")
}

func TestPromoteForceKeepsOldHeadInReflog(t *testing.T) {
	e := promoteEnv(t)
	old := e.head("test")
	res, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "side", Dst: "test"}}, repo.PromoteOptions{Force: true})
	require.NoError(t, err)
	require.Equal(t, "reset", res[0].Mode)
	log := mustReflog(t, e, "test")
	require.Equal(t, old, log[0].Old)
	require.Equal(t, e.head("side"), log[0].New)
	require.Equal(t, old, e.resolve("test@{1}").ID)
	require.Equal(t, []int{1}, versionNumbers(mustLog(t, e, "test")))
}

func mustLog(t *testing.T, e *rtEnv, rev string) []repo.LogEntry {
	t.Helper()
	log, err := e.s.Log(e.ctx, rev, 0)
	require.NoError(t, err)
	return log
}

func TestPromoteOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dst   string
		only  []string
		want  map[string]string
		ver   int
		dstV0 bool // the destination was empty
	}{
		{name: "base-name glob", dst: "side", only: []string{"*.txt"}, ver: 2,
			want: map[string]string{"a.txt": "a2", "sub/d.txt": "d1", "z.bin": "z"}},
		{name: "directory", dst: "side", only: []string{"sub/"}, ver: 2,
			want: map[string]string{"sub/c.dat": "c1", "sub/d.txt": "d1", "z.bin": "z"}},
		{name: "several patterns", dst: "side", only: []string{"sub/", "b.bin"}, ver: 2,
			want: map[string]string{"b.bin": "b3", "sub/c.dat": "c1", "sub/d.txt": "d1", "z.bin": "z"}},
		{name: "overwrites destination's package", dst: "test", only: []string{"b.bin"}, ver: 3,
			want: map[string]string{"a.txt": "a2", "b.bin": "b3", "sub/c.dat": "c1", "sub/d.txt": "d1"}},
		{name: "into an empty repository", dst: "prod", only: []string{"**/*.txt"}, ver: 1, dstV0: true,
			want: map[string]string{"a.txt": "a2", "sub/d.txt": "d1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := promoteEnv(t)
			before := e.head(tc.dst)
			res, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: tc.dst}}, repo.PromoteOptions{Only: tc.only})
			require.NoError(t, err)
			require.Equal(t, "only", res[0].Mode)
			require.True(t, res[0].Moved)
			require.Equal(t, tc.ver, res[0].Version)
			require.Equal(t, before, res[0].From)
			require.Equal(t, e.head(tc.dst), res[0].To)

			v := e.resolve(tc.dst)
			require.Equal(t, tc.ver, v.Number)
			if tc.dstV0 {
				require.Empty(t, v.Parents)
			} else {
				require.Equal(t, []objects.ID{before}, v.Parents, "a new version on top of the destination")
			}
			require.Equal(t, tc.want, e.contents(tc.dst))
			require.Contains(t, v.Message, "dev@3")

			// Doing it again changes nothing.
			res, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: tc.dst}}, repo.PromoteOptions{Only: tc.only})
			require.NoError(t, err)
			require.Equal(t, "up-to-date", res[0].Mode)
			require.False(t, res[0].Moved)
			require.Equal(t, tc.ver, res[0].Version)
			require.Equal(t, v.ID, e.head(tc.dst))
		})
	}
}

func TestPromoteMulti(t *testing.T) {
	t.Run("judged against heads before any move", func(t *testing.T) {
		e := promoteEnv(t)
		devHead, testHead := e.head("dev"), e.head("test")
		res, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}, {Src: "test", Dst: "prod"}}, repo.PromoteOptions{})
		require.NoError(t, err)
		require.Len(t, res, 2)
		require.Equal(t, devHead, e.head("test"))
		require.Equal(t, testHead, e.head("prod"), "prod gets test's old head")
		require.Equal(t, 3, res[0].Version)
		require.Equal(t, 2, res[1].Version)
		require.Equal(t, "fast-forward", res[0].Mode)
		require.Equal(t, "fast-forward", res[1].Mode)

		// One transaction: both reflogs have one entry with the same action.
		tl, pl := mustReflog(t, e, "test"), mustReflog(t, e, "prod")
		require.Equal(t, "promote: dev -> test, test -> prod", tl[0].Action)
		require.Equal(t, tl[0].Action, pl[0].Action)
	})

	t.Run("one refused pair moves nothing", func(t *testing.T) {
		e := promoteEnv(t)
		heads := map[string]objects.ID{}
		for _, n := range []string{"dev", "test", "prod", "side"} {
			heads[n] = e.head(n)
		}
		for _, pairs := range [][]repo.Pair{
			{{Src: "dev", Dst: "prod"}, {Src: "side", Dst: "test"}},
			{{Src: "side", Dst: "test"}, {Src: "dev", Dst: "prod"}},
			{{Src: "dev", Dst: "prod"}, {Src: "dev", Dst: "nope"}},
		} {
			_, err := e.s.Promote(e.ctx, pairs, repo.PromoteOptions{})
			require.Error(t, err)
			for n, h := range heads {
				require.Equal(t, h, e.head(n), "%s moved", n)
			}
		}
		require.Empty(t, mustReflog(t, e, "prod"))
	})

	t.Run("mixed modes", func(t *testing.T) {
		e := promoteEnv(t)
		res, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev@2", Dst: "test"}, {Src: "dev", Dst: "prod"}}, repo.PromoteOptions{})
		require.NoError(t, err)
		require.Equal(t, "up-to-date", res[0].Mode)
		require.False(t, res[0].Moved)
		require.Equal(t, "fast-forward", res[1].Mode)
		require.Equal(t, e.head("dev"), e.head("prod"))
	})

	t.Run("force applies to every pair", func(t *testing.T) {
		e := promoteEnv(t)
		res, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "side", Dst: "test"}, {Src: "dev", Dst: "prod"}}, repo.PromoteOptions{Force: true})
		require.NoError(t, err)
		require.Equal(t, "reset", res[0].Mode)
		require.Equal(t, "reset", res[1].Mode)
		require.Equal(t, e.head("side"), e.head("test"))
		require.Equal(t, e.head("dev"), e.head("prod"))
	})

	t.Run("bad requests", func(t *testing.T) {
		e := promoteEnv(t)
		_, err := e.s.Promote(e.ctx, nil, repo.PromoteOptions{})
		require.ErrorIs(t, err, repo.ErrInvalid)
		_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "prod"}, {Src: "side", Dst: "prod"}}, repo.PromoteOptions{})
		require.ErrorIs(t, err, repo.ErrInvalid)
		require.True(t, e.head("prod").IsZero())
	})
}
