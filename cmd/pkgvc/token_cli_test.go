package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokenCLI(t *testing.T) {
	h := newHarness(t)

	out := h.ok("--json", "token", "create", "--name", "admin", "--scope", "*:*:admin")
	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &created))
	require.ElementsMatch(t, []string{"name", "token", "scopes"}, jsonKeys(created))
	require.Equal(t, "admin", created["name"])
	require.Equal(t, []any{"*:*:admin"}, created["scopes"])
	secret := created["token"].(string)
	require.True(t, strings.HasPrefix(secret, "pkgvc_"))

	var ci map[string]any
	require.NoError(t, json.Unmarshal([]byte(h.ok("--json", "token", "create", "--name", "ci",
		"--scope", "repo:dev:write", "--scope", "dist:*:read", "--expires", "30d")), &ci))
	require.ElementsMatch(t, []string{"name", "token", "scopes", "expires"}, jsonKeys(ci))
	require.Equal(t, []any{"repo:dev:write", "dist:*:read"}, ci["scopes"])

	plain := h.run("token", "create", "--scope", "dist:web:read", "--expires", "12h")
	require.Equal(t, 0, plain.code, plain)
	require.True(t, strings.HasPrefix(plain.stdout, "pkgvc_"))
	require.Equal(t, 1, strings.Count(plain.stdout, "\n"))

	var list []map[string]any
	h.jsonOK(&list, "token", "list")
	require.Len(t, list, 3)
	require.Equal(t, "admin", list[0]["name"])
	require.Equal(t, "ci", list[1]["name"])
	require.Contains(t, list[0], "created")
	require.NotContains(t, list[0], "expires")
	require.Contains(t, list[1], "expires")
	text := h.ok("token", "list")
	all := h.ok("--json", "token", "list") + text
	for _, s := range []string{secret, ci["token"].(string), strings.TrimSpace(plain.stdout)} {
		require.NotContains(t, all, s, "list never shows a token")
	}
	require.Contains(t, text, "NAME")
	require.Contains(t, text, "repo:dev:write dist:*:read")

	// Refusals.
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"token", "create", "--scope", "repo:dev"}, 2, "KIND:GLOB:LEVEL"},
		{[]string{"token", "create", "--scope", "repos:dev:read"}, 2, "use repo, dist, remote or *"},
		{[]string{"token", "create", "--scope", "repo:dev:owner"}, 2, "read, write or admin"},
		{[]string{"token", "create"}, 2, "--scope"},
		{[]string{"token", "create", "--scope", "*:*:read", "--expires", "soon"}, 2, "--expires"},
		{[]string{"token", "create", "--scope", "*:*:read", "--name", "admin"}, 1, "exists"},
		{[]string{"token", "create", "--scope", "*:*:read", "--name", "Bad Name"}, 1, "invalid"},
		{[]string{"token", "revoke", "nope"}, 1, "not found"},
		{[]string{"token", "revoke"}, 2, "usage"},
	} {
		r := h.run(tc.args...)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r)
		require.Contains(t, r.stderr, tc.msg, tc.args)
	}

	require.Equal(t, "revoked token ci\n", h.ok("token", "revoke", "ci"))
	list = nil
	h.jsonOK(&list, "token", "list")
	require.Len(t, list, 2)
	r := h.run("token", "revoke", "ci")
	require.Equal(t, 1, r.code)
}

func jsonKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
