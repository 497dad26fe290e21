package repo_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

func TestCreateRepo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		repo     string
		opts     repo.CreateOptions
		wantErr  error
		wantKind string
	}{
		{name: "default kind", repo: "dev", wantKind: "file"},
		{name: "explicit kind and retain", repo: "dev", opts: repo.CreateOptions{Kind: "file", Retain: 5}, wantKind: "file"},
		{name: "digits dots dashes underscores", repo: "0a.b_c-d", wantKind: "file"},
		{name: "unknown kind", repo: "dev", opts: repo.CreateOptions{Kind: "nope"}, wantErr: repo.ErrInvalid},
		{name: "negative retain", repo: "dev", opts: repo.CreateOptions{Retain: -1}, wantErr: repo.ErrInvalid},
		{name: "upper case", repo: "Dev", wantErr: repo.ErrInvalid},
		{name: "empty", repo: "", wantErr: repo.ErrInvalid},
		{name: "leading dash", repo: "-dev", wantErr: repo.ErrInvalid},
		{name: "leading dot", repo: ".dev", wantErr: repo.ErrInvalid},
		{name: "leading underscore", repo: "_dev", wantErr: repo.ErrInvalid},
		{name: "slash", repo: "a/b", wantErr: repo.ErrInvalid},
		{name: "space", repo: "a b", wantErr: repo.ErrInvalid},
		{name: "at sign", repo: "dev@1", wantErr: repo.ErrInvalid},
		{name: "tilde", repo: "dev~1", wantErr: repo.ErrInvalid},
		{name: "too long", repo: strings.Repeat("a", 129), wantErr: repo.ErrInvalid},
		{name: "longest", repo: strings.Repeat("a", 128), wantKind: "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemEnv(t)
			cfg, err := e.s.CreateRepo(e.ctx, tc.repo, tc.opts)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				repos, err := e.s.ListRepos(e.ctx)
				require.NoError(t, err)
				require.Empty(t, repos)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.repo, cfg.Name)
			require.Equal(t, tc.wantKind, cfg.Kind)
			require.Equal(t, tc.opts.Retain, cfg.Retain)
			require.False(t, cfg.Created.IsZero())

			info, err := e.s.ShowRepo(e.ctx, tc.repo)
			require.NoError(t, err)
			require.Equal(t, tc.wantKind, info.Kind)
			require.Equal(t, tc.opts.Retain, info.Retain)
			require.Nil(t, info.Head)
			require.Zero(t, info.Packages)
		})
	}
}

func TestCreateRepoExists(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{Retain: 2})
	e.commit("dev", map[string]string{"a": "a"})
	_, err := e.s.CreateRepo(e.ctx, "dev", repo.CreateOptions{})
	require.ErrorIs(t, err, repo.ErrExists)
	require.Contains(t, err.Error(), "dev")

	// The existing repository is untouched.
	info, err := e.s.ShowRepo(e.ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, 2, info.Retain)
	require.Equal(t, 1, info.Packages)
}

func TestListShowRepos(t *testing.T) {
	e := newMemEnv(t)
	repos, err := e.s.ListRepos(e.ctx)
	require.NoError(t, err)
	require.Empty(t, repos)

	for _, n := range []string{"zeta", "alpha", "mid"} {
		e.create(n, repo.CreateOptions{})
	}
	e.commit("mid", map[string]string{"a.txt": "a", "sub/b.txt": "bb"})
	e.commit("mid", map[string]string{"c.txt": "ccc"})

	repos, err = e.s.ListRepos(e.ctx)
	require.NoError(t, err)
	var names []string
	for _, r := range repos {
		names = append(names, r.Name)
	}
	require.Equal(t, []string{"alpha", "mid", "zeta"}, names)
	require.Nil(t, repos[0].Head)
	require.NotNil(t, repos[1].Head)
	require.Equal(t, 2, repos[1].Head.Number)
	require.Equal(t, "mid", repos[1].Head.Repo)
	require.Equal(t, 3, repos[1].Packages)

	info, err := e.s.ShowRepo(e.ctx, "mid")
	require.NoError(t, err)
	require.Equal(t, "mid", info.Name)
	require.Equal(t, "file", info.Kind)
	require.Equal(t, 3, info.Packages)
	require.Equal(t, e.resolve("mid").ID, info.Head.ID)
	require.Equal(t, "mid@2", info.Head.String())

	for _, bad := range []struct {
		name string
		err  error
	}{
		{"nope", repo.ErrRepoNotFound},
		{"Bad", repo.ErrInvalid},
	} {
		_, err := e.s.ShowRepo(e.ctx, bad.name)
		require.ErrorIs(t, err, bad.err, bad.name)
	}
	_, err = e.s.ShowRepo(e.ctx, "nope")
	require.ErrorIs(t, err, repo.ErrNotFound)
}

func TestDeleteRepo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		commits int
	}{
		{"with versions", 2},
		{"without versions", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemEnv(t)
			e.create("dev", repo.CreateOptions{})
			e.create("keep", repo.CreateOptions{})
			for i := range tc.commits {
				e.commit("dev", map[string]string{"a.txt": strings.Repeat("x", i+1)})
			}
			require.NoError(t, e.s.DeleteRepo(e.ctx, "dev"))

			_, err := e.s.ShowRepo(e.ctx, "dev")
			require.ErrorIs(t, err, repo.ErrRepoNotFound)
			_, err = e.s.Resolve(e.ctx, "dev")
			require.ErrorIs(t, err, repo.ErrNotFound)
			_, err = e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"b": "b"})})
			require.ErrorIs(t, err, repo.ErrRepoNotFound)
			require.ErrorIs(t, e.s.DeleteRepo(e.ctx, "dev"), repo.ErrRepoNotFound)

			repos, err := e.s.ListRepos(e.ctx)
			require.NoError(t, err)
			require.Len(t, repos, 1)
			require.Equal(t, "keep", repos[0].Name)

			log, err := e.s.Reflog(e.ctx, "dev")
			if tc.commits == 0 {
				// The head never moved, so there is nothing to audit.
				require.ErrorIs(t, err, repo.ErrRepoNotFound)
				return
			}
			require.NoError(t, err)
			require.Len(t, log, tc.commits+1)
			require.True(t, log[0].New.IsZero(), "newest entry is the deletion")
			require.Contains(t, log[0].Action, "repo delete dev")
			require.Equal(t, rtWho, log[0].Who)

			// The name can be used again, starting from scratch.
			e.create("dev", repo.CreateOptions{})
			require.Equal(t, 1, e.commit("dev", map[string]string{"n": "n"}).Version)
		})
	}
	e := newMemEnv(t)
	require.ErrorIs(t, e.s.DeleteRepo(e.ctx, "nope"), repo.ErrRepoNotFound)
}

// A deletion that stopped between the configuration and the head leaves a
// head no one reads: not listed, not checked by fsck, and dropped when
// the name is made again, whose repository starts empty.
func TestDeleteRepoInterrupted(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	_, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "a.txt", File: e.file("a")}}})
	require.NoError(t, err)
	_, rev, err := e.s.Meta().Get(e.ctx, "repos/dev")
	require.NoError(t, err)
	require.NoError(t, meta.DeleteIf(e.ctx, e.s.Meta(), "repos/dev", rev))

	list, err := e.s.ListRepos(e.ctx)
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = e.s.ShowRepo(e.ctx, "dev")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	res, err := e.s.Fsck(e.ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	_, err = e.s.Refs().Get(e.ctx, "repos/dev")
	require.NoError(t, err, "the head is left")

	e.create("dev", repo.CreateOptions{})
	info, err := e.s.ShowRepo(e.ctx, "dev")
	require.NoError(t, err)
	require.Nil(t, info.Head, "the new repository starts empty")

	// A whole deletion removes both.
	_, err = e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "b.txt", File: e.file("b")}}})
	require.NoError(t, err)
	require.NoError(t, e.s.DeleteRepo(e.ctx, "dev"))
	_, err = e.s.Refs().Get(e.ctx, "repos/dev")
	require.ErrorIs(t, err, refs.ErrNotFound)
	_, _, err = e.s.Meta().Get(e.ctx, "repos/dev")
	require.ErrorIs(t, err, meta.ErrNotFound)
	require.ErrorIs(t, e.s.DeleteRepo(e.ctx, "dev"), repo.ErrRepoNotFound)

	// gc finishes an interrupted deletion too.
	e.create("web", repo.CreateOptions{})
	_, err = e.s.Commit(e.ctx, "web", repo.CommitRequest{Adds: []repo.Add{{Path: "c.txt", File: e.file("c")}}})
	require.NoError(t, err)
	_, rev, err = e.s.Meta().Get(e.ctx, "repos/web")
	require.NoError(t, err)
	require.NoError(t, meta.DeleteIf(e.ctx, e.s.Meta(), "repos/web", rev))
	_, err = e.s.GC(e.ctx, repo.GCOptions{DryRun: true})
	require.NoError(t, err)
	_, err = e.s.Refs().Get(e.ctx, "repos/web")
	require.NoError(t, err, "a dry run changes nothing")
	_, err = e.s.GC(e.ctx, repo.GCOptions{})
	require.NoError(t, err)
	_, err = e.s.Refs().Get(e.ctx, "repos/web")
	require.ErrorIs(t, err, refs.ErrNotFound)
}
