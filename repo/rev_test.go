package repo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

func TestResolve(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("empty", repo.CreateOptions{})
	ids := map[int]objects.ID{}
	for i := 1; i <= 4; i++ {
		ids[i] = e.commit("dev", map[string]string{"p.txt": string(rune('a' + i))}).ID
	}
	// An 8-digit prefix that names no object: flip the first digit of v1's
	// id until it matches nothing (almost surely the first try).
	var unknown string
	for _, c := range "0123456789abcdef" {
		p := string(c) + ids[1].String()[1:8]
		found, err := e.s.Objects().FindObjects(e.ctx, p)
		require.NoError(t, err)
		if len(found) == 0 {
			unknown = p
			break
		}
	}
	require.NotEmpty(t, unknown)

	for _, tc := range []struct {
		rev      string
		want     int // version number; 0 with wantErr
		wantRepo string
		wantErr  error
	}{
		{rev: "dev", want: 4, wantRepo: "dev"},
		{rev: "dev@1", want: 1, wantRepo: "dev"},
		{rev: "dev@4", want: 4, wantRepo: "dev"},
		{rev: "dev@{0}", want: 4, wantRepo: "dev"},
		{rev: "dev@{1}", want: 3, wantRepo: "dev"},
		{rev: "dev@{3}", want: 1, wantRepo: "dev"},
		{rev: "dev~", want: 3, wantRepo: "dev"},
		{rev: "dev~1", want: 3, wantRepo: "dev"},
		{rev: "dev~3", want: 1, wantRepo: "dev"},
		{rev: "dev~1~1", want: 2, wantRepo: "dev"},
		{rev: "dev~~", want: 2, wantRepo: "dev"},
		{rev: "dev@3~1", want: 2, wantRepo: "dev"},
		{rev: "dev@{1}~2", want: 1, wantRepo: "dev"},
		{rev: ids[2].String(), want: 2},
		{rev: ids[3].String()[:8], want: 3},
		{rev: ids[3].String()[:20], want: 3},
		{rev: ids[4].String() + "~2", want: 2},

		{rev: "dev@99", wantErr: repo.ErrVersionNotFound},
		{rev: "dev@0", wantErr: repo.ErrVersionNotFound},
		{rev: "dev@{4}", wantErr: repo.ErrVersionNotFound}, // dev had no version then
		{rev: "dev@{9}", wantErr: repo.ErrVersionNotFound},
		{rev: "dev~4", wantErr: repo.ErrVersionNotFound},
		{rev: "empty", wantErr: repo.ErrVersionNotFound},
		{rev: "empty@1", wantErr: repo.ErrVersionNotFound},
		{rev: "nope", wantErr: repo.ErrRepoNotFound},
		{rev: "nope@1", wantErr: repo.ErrRepoNotFound},
		{rev: unknown, wantErr: repo.ErrNotFound},
		{rev: "", wantErr: repo.ErrInvalid},
		{rev: "Dev", wantErr: repo.ErrInvalid},
		{rev: "dev@x", wantErr: repo.ErrInvalid},
		{rev: "dev@{x}", wantErr: repo.ErrInvalid},
		{rev: "dev~x", wantErr: repo.ErrInvalid},
		{rev: "dev@1@2", wantErr: repo.ErrInvalid},
	} {
		t.Run(tc.rev, func(t *testing.T) {
			v, err := e.s.Resolve(e.ctx, tc.rev)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Number)
			require.Equal(t, ids[tc.want], v.ID)
			require.Equal(t, tc.wantRepo, v.Repo)
			if tc.wantRepo != "" {
				require.Equal(t, "dev@"+string(rune('0'+tc.want)), v.String())
			} else {
				require.Equal(t, v.ID.String(), v.String())
			}
		})
	}

	// An id prefix must name a version, not another object.
	_, err := e.s.Resolve(e.ctx, e.resolve("dev").Tree.String()[:12])
	require.ErrorIs(t, err, repo.ErrNotFound)

	// The specific errors are also the general ones.
	_, err = e.s.Resolve(e.ctx, "dev@99")
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = e.s.Resolve(e.ctx, "nope")
	require.ErrorIs(t, err, repo.ErrNotFound)
}

// TestResolveReflogAfterForce checks that NAME@{K} follows the reflog, not
// the first-parent history, across a forced reset.
func TestResolveReflogAfterForce(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("other", repo.CreateOptions{})
	d1 := e.commit("dev", map[string]string{"a": "1"}).ID
	d2 := e.commit("dev", map[string]string{"a": "2"}).ID
	o1 := e.commit("other", map[string]string{"o": "1"}).ID
	_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "other", Dst: "dev"}}, repo.PromoteOptions{Force: true})
	require.NoError(t, err)

	require.Equal(t, o1, e.resolve("dev").ID)
	require.Equal(t, d2, e.resolve("dev@{1}").ID)
	require.Equal(t, d1, e.resolve("dev@{2}").ID)
	require.Equal(t, d1, e.resolve("dev@{1}~1").ID)
	_, err = e.s.Resolve(e.ctx, "dev@2")
	require.ErrorIs(t, err, repo.ErrVersionNotFound, "dev@2 is no longer in dev's history")
	_, err = e.s.Resolve(e.ctx, "dev~1")
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
}
