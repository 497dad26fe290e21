package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/repo"
)

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want auth.Scope
		bad  bool
	}{
		{in: "*:*:admin", want: auth.Scope{Kind: "*", Glob: "*", Level: auth.Admin}},
		{in: "repo:dev:write", want: auth.Scope{Kind: "repo", Glob: "dev", Level: auth.Write}},
		{in: "dist:web-*:read", want: auth.Scope{Kind: "dist", Glob: "web-*", Level: auth.Read}},
		{in: "remote:[ab]?:admin", want: auth.Scope{Kind: "remote", Glob: "[ab]?", Level: auth.Admin}},
		{in: "", bad: true},
		{in: "repo:dev", bad: true},
		{in: "repo:dev:write:x", bad: true},
		{in: "repos:dev:write", bad: true},
		{in: "repo::read", bad: true},
		{in: "repo:[:read", bad: true},
		{in: "repo:dev:owner", bad: true},
		{in: "repo:dev:READ", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := auth.ParseScope(tc.in)
			if tc.bad {
				require.ErrorIs(t, err, auth.ErrInvalidScope)
				require.ErrorIs(t, err, repo.ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, s)
			require.Equal(t, tc.in, s.String())
		})
	}
}

func TestScopeAllows(t *testing.T) {
	for _, tc := range []struct {
		scope, kind, name string
		level             auth.Level
		want              bool
	}{
		{"*:*:admin", "repo", "prod", auth.Admin, true},
		{"*:*:admin", "dist", "x", auth.Read, true},
		{"*:*:read", "dist", "x", auth.Write, false},
		{"repo:dev:write", "repo", "dev", auth.Read, true},
		{"repo:dev:write", "repo", "dev", auth.Write, true},
		{"repo:dev:write", "repo", "dev", auth.Admin, false},
		{"repo:dev:write", "repo", "prod", auth.Read, false},
		{"repo:dev:write", "dist", "dev", auth.Read, false},
		{"dist:*:read", "dist", "priv", auth.Read, true},
		{"dist:web-*:read", "dist", "web-1", auth.Read, true},
		{"dist:web-*:read", "dist", "api-1", auth.Read, false},
		{"remote:*:admin", "remote", "pypi", auth.Write, true},
		{"remote:*:admin", "repo", "pypi", auth.Read, false},
	} {
		t.Run(tc.scope+"/"+tc.kind+":"+tc.name+":"+tc.level.String(), func(t *testing.T) {
			s, err := auth.ParseScope(tc.scope)
			require.NoError(t, err)
			require.Equal(t, tc.want, s.Allows(tc.kind, tc.name, tc.level))
		})
	}
}
