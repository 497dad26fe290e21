package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// result is what one command line produced.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
}

// runCLI runs one command line in this process through run.
func runCLI(t testing.TB, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"pkgvc"}, args...), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// harness is a temporary store plus a work directory for input files.
type harness struct {
	t     testing.TB
	store string
	work  string
	// global, when set, replaces --store STORE before each command's
	// arguments (see through).
	global []string
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, store: filepath.Join(dir, "store"), work: filepath.Join(dir, "work")}
	require.NoError(t, os.MkdirAll(h.work, 0o755))
	return h
}

// run runs a command against the harness store (--store goes first).
func (h *harness) run(args ...string) result {
	h.t.Helper()
	global := h.global
	if global == nil {
		global = []string{"--store", h.store}
	}
	return runCLI(h.t, append(slices.Clip(global), args...)...)
}

// through returns a harness with the same work directory whose commands
// go to the server at url with the token in tokenFile.
func (h *harness) through(url, tokenFile string) *harness {
	c := *h
	c.global = []string{"--server", url, "--token-file", tokenFile}
	return &c
}

// ok runs a command that must succeed and returns its stdout.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	require.Equal(h.t, 0, r.code, "pkgvc %s\n%s", strings.Join(args, " "), r)
	return r.stdout
}

// jsonOK runs a command with --json that must succeed and decodes stdout.
func (h *harness) jsonOK(v any, args ...string) {
	h.t.Helper()
	out := h.ok(append([]string{"--json"}, args...)...)
	require.NoError(h.t, json.Unmarshal([]byte(out), v), "pkgvc %s: %s", strings.Join(args, " "), out)
}

// file writes data to a work-directory file and returns its path.
func (h *harness) file(rel string, data []byte) string {
	h.t.Helper()
	p := filepath.Join(h.work, filepath.FromSlash(rel))
	require.NoError(h.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(h.t, os.WriteFile(p, data, 0o644))
	return p
}

// dir writes one file at rel under the work directory sub and returns sub.
func (h *harness) dir(sub, rel, content string) string {
	h.t.Helper()
	h.file(sub+"/"+rel, []byte(content))
	return filepath.Join(h.work, sub)
}

// commitOut is the --json shape of commit and rollback.
type commitOut struct {
	Repo       string `json:"repo"`
	Version    int    `json:"version"`
	ID         string `json:"id"`
	NewObjects int    `json:"new_objects"`
	NewBytes   int64  `json:"new_bytes"`
}

type logOut struct {
	Version int       `json:"version"`
	ID      string    `json:"id"`
	Parents []string  `json:"parents"`
	Time    time.Time `json:"time"`
	Author  string    `json:"author"`
	Message string    `json:"message"`
}

type lsOut struct {
	Path     string            `json:"path"`
	SHA256   string            `json:"sha256"`
	Size     int64             `json:"size"`
	Metadata map[string]string `json:"metadata"`
}

type diffOut struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

type reflogOut struct {
	Old    string    `json:"old"`
	New    string    `json:"new"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`
	Action string    `json:"action"`
}

func (h *harness) commit(args ...string) commitOut {
	h.t.Helper()
	var c commitOut
	h.jsonOK(&c, append([]string{"commit"}, args...)...)
	return c
}

func (h *harness) log(rev string) []logOut {
	h.t.Helper()
	var l []logOut
	h.jsonOK(&l, "log", rev)
	return l
}

func (h *harness) head(rev string) logOut {
	h.t.Helper()
	l := h.log(rev)
	require.NotEmpty(h.t, l)
	return l[0]
}

func (h *harness) ls(rev string) []lsOut {
	h.t.Helper()
	var l []lsOut
	h.jsonOK(&l, "ls", rev)
	return l
}

// lsMap returns path -> sha256 of rev.
func (h *harness) lsMap(rev string) map[string]string {
	h.t.Helper()
	m := map[string]string{}
	for _, r := range h.ls(rev) {
		m[r.Path] = r.SHA256
	}
	return m
}

func (h *harness) diff(a, b string) diffOut {
	h.t.Helper()
	var d diffOut
	h.jsonOK(&d, "diff", a, b)
	return d
}

func (h *harness) reflog(name string) []reflogOut {
	h.t.Helper()
	var l []reflogOut
	h.jsonOK(&l, "reflog", name)
	return l
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// requireOneLine checks a refusal: exit 1 and one line on stderr.
func requireRefused(t testing.TB, r result, contains ...string) {
	t.Helper()
	require.Equal(t, 1, r.code, "%s", r)
	require.True(t, strings.HasSuffix(r.stderr, "\n"), "stderr must end in a newline: %s", r)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "stderr must be one line: %s", r)
	require.True(t, strings.HasPrefix(r.stderr, "pkgvc: "), "%s", r)
	for _, c := range contains {
		require.Contains(t, r.stderr, c, "%s", r)
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// decodeRaw decodes JSON preserving numbers, to check their form.
func decodeRaw(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "%s", s)
	require.False(t, dec.More(), "one JSON document: %s", s)
	return v
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func requireInt(t testing.TB, v any, what string) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%s: want a JSON number, got %T %v", what, v, v)
	i, err := n.Int64()
	require.NoError(t, err, "%s: want an integer, got %s", what, n)
	return i
}

func TestJSONShapes(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	h.file("in/b.txt", []byte("bee"))
	h.file("in/a/x.txt", []byte("ex"))
	h.file("in/c.txt", []byte("sea"))

	t.Run("commit", func(t *testing.T) {
		r := h.run("--json", "commit", "dev", filepath.Join(h.work, "in"))
		require.Equal(t, 0, r.code, "%s", r)
		m, ok := decodeRaw(t, r.stdout).(map[string]any)
		require.True(t, ok, r.stdout)
		// "changed" is an addition to the shape; anything else is drift.
		require.Subset(t, keys(m), []string{"id", "new_bytes", "new_objects", "repo", "version"})
		require.Subset(t, []string{"changed", "id", "new_bytes", "new_objects", "repo", "version"}, keys(m))
		require.Equal(t, "dev", m["repo"])
		require.EqualValues(t, 1, requireInt(t, m["version"], "version"))
		require.Regexp(t, hex64, m["id"])
		require.Positive(t, requireInt(t, m["new_objects"], "new_objects"))
		require.Positive(t, requireInt(t, m["new_bytes"], "new_bytes"))
	})
	h.file("c2.txt", []byte("sea 2"))
	h.ok("commit", "dev", "--add", filepath.Join(h.work, "c2.txt")+"=c.txt", "--remove", "b.txt", "--add", filepath.Join(h.work, "in/b.txt")+"=new/b.txt", "-m", "second\nwith a body")

	t.Run("log", func(t *testing.T) {
		r := h.run("--json", "log", "dev")
		require.Equal(t, 0, r.code, "%s", r)
		list, ok := decodeRaw(t, r.stdout).([]any)
		require.True(t, ok, r.stdout)
		require.Len(t, list, 2)
		for i, e := range list {
			m := e.(map[string]any)
			require.Subset(t, keys(m), []string{"author", "id", "message", "parents", "time", "version"})
			require.EqualValues(t, 2-i, requireInt(t, m["version"], "version"), "newest first")
			require.Regexp(t, hex64, m["id"])
			parents, ok := m["parents"].([]any)
			require.True(t, ok, "parents must be a list, not null: %s", r.stdout)
			require.Len(t, parents, 1-i)
			_, err := time.Parse(time.RFC3339Nano, m["time"].(string))
			require.NoError(t, err)
			require.NotEmpty(t, m["author"])
		}
		require.Equal(t, "second\nwith a body", list[0].(map[string]any)["message"])
		require.Equal(t, list[1].(map[string]any)["id"], list[0].(map[string]any)["parents"].([]any)[0])
	})

	t.Run("ls", func(t *testing.T) {
		r := h.run("--json", "ls", "dev")
		require.Equal(t, 0, r.code, "%s", r)
		list, ok := decodeRaw(t, r.stdout).([]any)
		require.True(t, ok, r.stdout)
		var paths []string
		for _, e := range list {
			m := e.(map[string]any)
			require.Equal(t, []string{"metadata", "path", "sha256", "size"}, keys(m))
			_, isMap := m["metadata"].(map[string]any)
			require.True(t, isMap, "metadata must be an object: %s", r.stdout)
			require.Regexp(t, hex64, m["sha256"])
			requireInt(t, m["size"], "size")
			paths = append(paths, m["path"].(string))
		}
		require.Equal(t, []string{"a/x.txt", "c.txt", "new/b.txt"}, paths)
		require.True(t, slices.IsSorted(paths))
		recs := h.ls("dev")
		require.Equal(t, sha([]byte("sea 2")), recs[1].SHA256)
		require.EqualValues(t, 5, recs[1].Size)
	})

	t.Run("diff", func(t *testing.T) {
		r := h.run("--json", "diff", "dev@1", "dev@2")
		require.Equal(t, 0, r.code, "%s", r)
		m := decodeRaw(t, r.stdout).(map[string]any)
		require.Equal(t, []string{"added", "changed", "removed"}, keys(m))
		require.Equal(t, diffOut{Added: []string{"new/b.txt"}, Removed: []string{"b.txt"}, Changed: []string{"c.txt"}}, h.diff("dev@1", "dev@2"))

		r = h.run("--json", "diff", "dev", "dev")
		require.Equal(t, 0, r.code, "%s", r)
		m = decodeRaw(t, r.stdout).(map[string]any)
		for _, k := range []string{"added", "removed", "changed"} {
			l, ok := m[k].([]any)
			require.True(t, ok, "%s must be a list, not null: %s", k, r.stdout)
			require.Empty(t, l)
		}
	})

	t.Run("reflog", func(t *testing.T) {
		r := h.run("--json", "reflog", "dev")
		require.Equal(t, 0, r.code, "%s", r)
		list := decodeRaw(t, r.stdout).([]any)
		require.Len(t, list, 2)
		for _, e := range list {
			require.Subset(t, keys(e.(map[string]any)), []string{"action", "new", "old", "time", "who"})
		}
		l := h.reflog("dev")
		logs := h.log("dev")
		require.Equal(t, logs[0].ID, l[0].New, "newest first")
		require.Equal(t, logs[1].ID, l[0].Old)
		require.Equal(t, logs[1].ID, l[1].New)
		require.Empty(t, l[1].Old, "the first move has no old version")
		require.True(t, !l[0].Time.Before(l[1].Time))
		require.NotEmpty(t, l[0].Who)
		require.Contains(t, l[0].Action, "commit")
		// `reflog show NAME` lists it too.
		require.Equal(t, r.stdout, h.run("--json", "reflog", "show", "dev").stdout)
	})

	t.Run("repo", func(t *testing.T) {
		var cfg map[string]any
		h.jsonOK(&cfg, "repo", "create", "other", "--kind", "file", "--retain", "3")
		require.Equal(t, "other", cfg["name"])
		require.Equal(t, "file", cfg["kind"])
		require.EqualValues(t, 3, cfg["retain"])
		var list []map[string]any
		h.jsonOK(&list, "repo", "list")
		require.Len(t, list, 2)
		require.Equal(t, "dev", list[0]["name"])
		require.Equal(t, "other", list[1]["name"])
		var show map[string]any
		h.jsonOK(&show, "repo", "show", "dev")
		require.Equal(t, "dev", show["name"])
		require.EqualValues(t, 3, show["packages"])
		require.EqualValues(t, 2, show["head"].(map[string]any)["version"])
		var del map[string]any
		h.jsonOK(&del, "repo", "delete", "other")
		require.Equal(t, "other", del["deleted"])
	})

	t.Run("gc and fsck", func(t *testing.T) {
		var g map[string]any
		h.jsonOK(&g, "gc", "--dry-run")
		require.Contains(t, g, "deleted_objects")
		h.jsonOK(&g, "gc", "--grace", "0s")
		require.Contains(t, g, "reachable_blobs")
		var f map[string]any
		h.jsonOK(&f, "fsck")
		require.EqualValues(t, 4, f["blobs"])
		require.Empty(t, f["problems"])
	})

	t.Run("reflog expire", func(t *testing.T) {
		before := len(h.reflog("dev"))
		require.Positive(t, before)
		var x map[string]any
		h.jsonOK(&x, "reflog", "expire", "--older-than", "90d")
		require.EqualValues(t, 0, x["removed"])
		require.Contains(t, x, "older_than")
		require.Len(t, h.reflog("dev"), before)
		time.Sleep(2 * time.Millisecond)
		h.jsonOK(&x, "reflog", "expire", "--older-than", "1ms")
		require.GreaterOrEqual(t, x["removed"], float64(before))
		require.Empty(t, h.reflog("dev"))
	})
}

// A repository named after a subcommand of reflog has its reflog listed
// by `reflog show NAME`, as in git.
func TestReflogShowSubcommandName(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "expire")
	h.commit("expire", h.file("e.txt", []byte("e")))
	require.Contains(t, h.ok("reflog", "show", "expire"), "expire@{0}: ")
}

func TestGlobalFlagsAnywhere(t *testing.T) {
	h := newHarness(t)
	x := h.file("x.txt", []byte("x"))
	y := h.file("y.txt", []byte("y"))
	S := h.store
	cases := []struct {
		name string
		args []string
		json bool
	}{
		{"front", []string{"--store", S, "--json", "repo", "create", "a"}, true},
		{"between command and subcommand", []string{"repo", "--store", S, "create", "b"}, false},
		{"after subcommand", []string{"repo", "create", "--json", "--store", S, "c"}, true},
		{"last", []string{"repo", "create", "d", "--store=" + S, "--json"}, true},
		{"commit, issue's example", []string{"commit", "a", "--add", x, "--store", S, "--json"}, true},
		{"commit, between positionals", []string{"commit", "a", "--store", S, y, "--json", "-m", "m"}, true},
		{"log", []string{"log", "a", "--json", "--store", S}, true},
		{"ls", []string{"ls", "--store", S, "a@1", "--json"}, true},
		{"diff", []string{"diff", "a@1", "--json", "a", "--store", S}, true},
		{"promote", []string{"promote", "a", "--store", S, "b", "--json"}, true},
		{"reflog", []string{"--json", "reflog", "--store", S, "b"}, true},
		{"rollback", []string{"rollback", "b", "a@1", "--store", S}, false},
		{"gc", []string{"gc", "--store", S, "--json", "--dry-run"}, true},
		{"fsck", []string{"fsck", "--json", "--store", S}, true},
		{"repo list", []string{"repo", "list", "--store", S, "--json"}, true},
	}
	for _, c := range cases {
		r := runCLI(t, c.args...)
		require.Equal(t, 0, r.code, "%s: %s", c.name, r)
		if c.json {
			require.True(t, json.Valid([]byte(r.stdout)), "%s: not JSON: %s", c.name, r.stdout)
		} else {
			require.False(t, json.Valid([]byte(r.stdout)), "%s: JSON without --json: %s", c.name, r.stdout)
		}
	}
	require.Equal(t, map[string]string{"x.txt": sha([]byte("x")), "y.txt": sha([]byte("y"))}, h.lsMap("a"))
	require.Equal(t, "m", h.head("a").Message)
	require.Equal(t, h.lsMap("a@1"), h.lsMap("b"))
	var dirs []string
	for _, d := range []string{"pkgvc-data"} {
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	require.Empty(t, dirs, "no store may appear in the working directory")
}

func TestStoreLocation(t *testing.T) {
	t.Run("PKGVC_STORE is honoured", func(t *testing.T) {
		env := filepath.Join(t.TempDir(), "env-store")
		t.Setenv("PKGVC_STORE", env)
		r := runCLI(t, "repo", "create", "fromenv")
		require.Equal(t, 0, r.code, "%s", r)
		_, err := os.Stat(filepath.Join(env, "pkgvc-store.json"))
		require.NoError(t, err)
		r = runCLI(t, "repo", "show", "fromenv")
		require.Equal(t, 0, r.code, "%s", r)
	})
	t.Run("--store wins over PKGVC_STORE", func(t *testing.T) {
		env := filepath.Join(t.TempDir(), "env-store")
		flag := filepath.Join(t.TempDir(), "flag-store")
		t.Setenv("PKGVC_STORE", env)
		r := runCLI(t, "repo", "create", "fromflag", "--store", flag)
		require.Equal(t, 0, r.code, "%s", r)
		require.Equal(t, 0, runCLI(t, "--store", flag, "repo", "show", "fromflag").code)
		_, err := os.Stat(filepath.Join(env, "pkgvc-store.json"))
		require.ErrorIs(t, err, os.ErrNotExist, "the env store must stay untouched")
	})
	t.Run("default ./pkgvc-data created on first use", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		t.Setenv("PKGVC_STORE", "")
		require.NoError(t, os.Unsetenv("PKGVC_STORE"))
		r := runCLI(t, "repo", "create", "here")
		require.Equal(t, 0, r.code, "%s", r)
		_, err := os.Stat(filepath.Join(dir, "pkgvc-data", "pkgvc-store.json"))
		require.NoError(t, err)
		r = runCLI(t, "repo", "list")
		require.Equal(t, 0, r.code, "%s", r)
		require.Contains(t, r.stdout, "here")
	})
	t.Run("a directory that is not a store is refused", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("do not touch"), 0o644))
		requireRefused(t, runCLI(t, "--store", dir, "repo", "create", "x"), "not a pkgvc store")
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, ents, 1, "nothing may be written into a foreign directory")
		requireRefused(t, runCLI(t, "--store", filepath.Join(dir, "precious.txt"), "repo", "list"))
	})
}

func TestStoreIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	requireRefused(t, runCLI(t, "--store", file, "repo", "list"), "not a pkgvc store")
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	f := h.file("f.txt", []byte("f"))
	h.ok("commit", "dev", f)
	for _, args := range [][]string{
		{"frob"},
		{"repo", "frob"},
		{"--bogus", "repo", "list"},
		{"repo", "list", "--bogus"},
		{"commit", "dev", "--bogus"},
		{"commit", "dev", "-m"},
		{"commit", "dev", "--add"},
		{"commit"},
		{"repo", "create"},
		{"repo", "create", "a", "b"},
		{"repo", "create", "x", "--retain", "abc"},
		{"repo", "show"},
		{"repo", "delete"},
		{"repo", "list", "extra"},
		{"log"},
		{"log", "dev", "dev"},
		{"ls"},
		{"ls", "dev", "a/", "b/"},
		{"cat", "dev"},
		{"cat", "dev", "f.txt", "more"},
		{"reflog"},
		{"diff", "dev"},
		{"diff", "dev", "dev", "dev"},
		{"promote"},
		{"promote", "dev"},
		{"promote", "dev:test", "prod"},
		{"promote", "dev:", "x:y"},
		{"rollback", "dev"},
		{"gc", "extra"},
		{"gc", "--grace", "abc"},
		{"reflog", "expire"},
		{"reflog", "expire", "--older-than", "soon"},
		{"reflog", "expire", "--older-than", "0d"},
		{"reflog", "expire", "extra", "--older-than", "1d"},
		{"fsck", "extra"},
	} {
		r := h.run(args...)
		require.Equal(t, 2, r.code, "pkgvc %s\n%s", strings.Join(args, " "), r)
		require.NotEmpty(t, r.stderr, "pkgvc %s", strings.Join(args, " "))
	}
	require.Len(t, h.log("dev"), 1, "usage errors change nothing")
}

func TestUsageMessageNamesCommandOnce(t *testing.T) {
	h := newHarness(t)
	r := h.run("cat", "dev")
	require.Equal(t, 2, r.code)
	require.NotContains(t, r.stderr, "pkgvc pkgvc")
	require.Contains(t, r.stderr, "usage: pkgvc cat REV PATH")
}

func TestRefusalIsNotUsage(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	requireRefused(t, h.run("commit", "dev", filepath.Join(h.work, "invalid value")))
	requireRefused(t, h.run("commit", "dev", "--remove", "flag needs an argument"))
}

func TestRefusals(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"dev", "test"} {
		h.ok("repo", "create", n)
	}
	a := h.file("a.txt", []byte("a"))
	b := h.file("b.txt", []byte("b"))
	h.ok("commit", "dev", a)
	h.ok("promote", "dev", "test")
	h.ok("commit", "test", b)
	h.ok("commit", "dev", b+"=c.txt")
	devID := h.head("dev").ID
	testID := h.head("test").ID
	junk := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(junk, "file"), nil, 0o644))
	h.ok("repo", "create", "empty")

	cases := []struct {
		name     string
		args     []string
		contains []string
	}{
		{"unknown repo", []string{"ls", "nope"}, []string{"nope"}},
		{"unknown repo for commit", []string{"commit", "nope", a}, []string{"nope"}},
		{"unknown version number", []string{"ls", "dev@99"}, []string{"dev@99"}},
		{"version zero", []string{"log", "dev@0"}, nil},
		{"too many first parents", []string{"ls", "dev~5"}, nil},
		{"too far back in the reflog", []string{"ls", "dev@{42}"}, nil},
		{"repo without versions", []string{"ls", "empty"}, []string{"empty"}},
		{"non-fast-forward promote", []string{"promote", "dev", "test"}, []string{"--force"}},
		{"non-fast-forward atomic promote", []string{"promote", "dev:test"}, []string{"--force"}},
		{"path escaping", []string{"commit", "dev", a + "=../evil"}, []string{"../evil"}},
		{"path escaping via --add", []string{"commit", "dev", "--add", a + "=x/../../evil"}, nil},
		{"absolute path", []string{"commit", "dev", "--add", a + "=/etc/passwd"}, []string{"/etc/passwd"}},
		{"duplicate path", []string{"commit", "dev", "--add", a + "=p", "--add", b + "=p"}, []string{"p"}},
		{"duplicate path, same file twice", []string{"commit", "dev", a, a}, []string{"a.txt"}},
		{"missing file", []string{"commit", "dev", "--add", filepath.Join(h.work, "nothere")}, []string{"nothere"}},
		{"remove a path that is not there", []string{"commit", "dev", "--remove", "nothere"}, []string{"nothere"}},
		{"store that is not a store", []string{"--store", junk, "repo", "list"}, []string{"not a pkgvc store"}},
		{"unknown id prefix", []string{"ls", "deadbeef"}, []string{"deadbeef"}},
		{"id prefix too short", []string{"ls", devID[:7]}, nil},
		{"unknown path", []string{"cat", "dev", "zzz"}, []string{"zzz"}},
		{"repo exists", []string{"repo", "create", "dev"}, []string{"dev"}},
		{"invalid repo name", []string{"repo", "create", "Bad/Name"}, nil},
		{"unknown kind", []string{"repo", "create", "k", "--kind", "nosuchkind"}, []string{"nosuchkind"}},
		{"negative retention", []string{"repo", "create", "k", "--retain", "-1"}, nil},
		{"promote into unknown", []string{"promote", "dev", "nope"}, []string{"nope"}},
		{"promote into one repo twice", []string{"promote", "dev:test", "dev@1:test"}, []string{"test"}},
		{"promote --only nothing matches", []string{"promote", "dev", "test", "--only", "*.none"}, nil},
		{"rollback to unknown", []string{"rollback", "dev", "dev@42"}, nil},
		{"delete unknown repo", []string{"repo", "delete", "nope"}, []string{"nope"}},
		{"reflog of unknown repo", []string{"reflog", "nope"}, []string{"nope"}},
		{"diff with unknown", []string{"diff", "dev", "nope"}, []string{"nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if args[0] != "--store" {
				args = append([]string{"--store", h.store}, args...)
			}
			requireRefused(t, runCLI(t, args...), c.contains...)
		})
	}
	require.Equal(t, devID, h.head("dev").ID, "refusals change nothing")
	require.Equal(t, testID, h.head("test").ID, "refusals change nothing")
	require.Len(t, h.reflog("test"), 2)
}

// TestAmbiguousIDPrefix plants two commit objects whose ids share their
// first 8 hex digits (found by a birthday search) and resolves the prefix.
func TestAmbiguousIDPrefix(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	h.ok("commit", "dev", h.file("a.txt", []byte("a")))
	head := h.head("dev")
	tree, err := objects.ParseID(h.treeOf(t, "dev"))
	require.NoError(t, err)

	encode := func(i int) []byte {
		var buf bytes.Buffer
		buf.Write([]byte{'C', 1})
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(repo.Commit{Tree: tree, Parents: []objects.ID{}, Version: 1,
			Time: time.Unix(0, 0).UTC(), Author: "test", Message: fmt.Sprintf("collide %d", i)}))
		return buf.Bytes()
	}
	seen := map[[4]byte]int{}
	var first, second []byte
	for i := 0; first == nil; i++ {
		data := encode(i)
		id := objects.Sum(data)
		k := [4]byte(id[:4])
		if j, ok := seen[k]; ok {
			first, second = encode(j), data
		}
		seen[k] = i
	}
	st, err := fsstore.OpenDir(context.Background(), h.store, all.Kinds())
	require.NoError(t, err)
	b := st.Objects().NewBatch()
	for _, d := range [][]byte{first, second} {
		_, err := b.PutObject(context.Background(), d)
		require.NoError(t, err)
	}
	require.NoError(t, b.Flush(context.Background()))
	id1, id2 := objects.Sum(first).String(), objects.Sum(second).String()
	require.Equal(t, id1[:8], id2[:8])

	requireRefused(t, h.run("ls", id1[:8]), "ambiguous")
	require.Equal(t, h.lsMap("dev"), h.lsMap(id1), "a full id resolves")
	require.Equal(t, h.lsMap("dev"), h.lsMap(id2))
	require.Equal(t, head.ID, h.head(head.ID[:8]).ID, "the real head's prefix stays unique")
	h.ok("fsck")
}

// treeOf returns the tree id of rev's head version.
func (h *harness) treeOf(t *testing.T, rev string) string {
	t.Helper()
	var l []map[string]any
	h.jsonOK(&l, "log", rev)
	return l[0]["tree"].(string)
}

func TestCommitInputs(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	dir := filepath.Join(h.work, "tree")
	h.file("tree/top.txt", []byte("top"))
	h.file("tree/sub/deep/leaf.txt", []byte("leaf"))
	h.file("tree/sub/mid.txt", []byte("mid"))
	single := h.file("elsewhere/single.bin", []byte("single"))
	named := h.file("named.txt", []byte("named"))
	extra := h.file("extra.txt", []byte("extra"))

	c := h.commit("dev", "--add", dir, "--add", single, "--add", named+"=pool/n/renamed.txt", extra, "-m", "first")
	require.Equal(t, commitOut{Repo: "dev", Version: 1, ID: c.ID, NewObjects: c.NewObjects, NewBytes: c.NewBytes}, c)
	require.Equal(t, map[string]string{
		"top.txt":            sha([]byte("top")),
		"sub/deep/leaf.txt":  sha([]byte("leaf")),
		"sub/mid.txt":        sha([]byte("mid")),
		"single.bin":         sha([]byte("single")),
		"pool/n/renamed.txt": sha([]byte("named")),
		"extra.txt":          sha([]byte("extra")),
	}, h.lsMap("dev"))
	require.Equal(t, "first", h.head("dev").Message)

	t.Run("text output names the version and its id", func(t *testing.T) {
		r := h.run("commit", "dev", h.file("t.txt", []byte("t")))
		require.Equal(t, 0, r.code, "%s", r)
		head := h.head("dev")
		require.Equal(t, fmt.Sprintf("dev@%d %s\n", head.Version, head.ID), r.stdout)
	})

	t.Run("adding an existing path replaces it", func(t *testing.T) {
		before := h.head("dev")
		h.commit("dev", h.file("v2/top.txt", []byte("top v2")))
		require.Equal(t, diffOut{Added: []string{}, Removed: []string{}, Changed: []string{"top.txt"}}, h.diff("dev~1", "dev"))
		require.Equal(t, before.Version+1, h.head("dev").Version)
		require.Equal(t, "top v2", h.ok("cat", "dev", "top.txt"))
	})

	t.Run("remove a file and a directory", func(t *testing.T) {
		h.commit("dev", "--remove", "single.bin", "--remove", "sub")
		d := h.diff("dev~1", "dev")
		require.Equal(t, []string{"single.bin", "sub/deep/leaf.txt", "sub/mid.txt"}, d.Removed)
		require.Empty(t, d.Added)
	})

	t.Run("nothing changed", func(t *testing.T) {
		n := len(h.log("dev"))
		head := h.head("dev")
		r := h.run("commit", "dev", extra)
		require.Equal(t, 0, r.code, "%s", r)
		require.Contains(t, strings.ToLower(r.stdout+r.stderr), "nothing", "a no-op commit must say so: %s", r)
		require.Len(t, h.log("dev"), n, "no new version")
		require.Len(t, h.reflog("dev"), n, "the head did not move")

		r = h.run("--json", "commit", "dev", "--add", extra)
		require.Equal(t, 0, r.code, "%s", r)
		var c commitOut
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &c))
		require.Equal(t, head.Version, c.Version)
		require.Equal(t, head.ID, c.ID)
		require.Len(t, h.log("dev"), n)

		r = h.run("commit", "dev")
		require.Equal(t, 0, r.code, "%s", r)
		require.Contains(t, strings.ToLower(r.stdout+r.stderr), "nothing")
		require.Len(t, h.log("dev"), n)

		c = h.commit("dev", "--allow-empty", "-m", "empty")
		require.Equal(t, head.Version+1, c.Version)
		require.Len(t, h.log("dev"), n+1)
		require.Equal(t, "empty", h.head("dev").Message)
		require.Equal(t, diffOut{Added: []string{}, Removed: []string{}, Changed: []string{}}, h.diff("dev~1", "dev"))
	})

	t.Run("first commit to an empty repository", func(t *testing.T) {
		h.ok("repo", "create", "e")
		r := h.run("commit", "e")
		require.Equal(t, 0, r.code, "%s", r)
		require.Contains(t, strings.ToLower(r.stdout), "nothing")
		requireRefused(t, h.run("log", "e"))
		c := h.commit("e", "--allow-empty")
		require.Equal(t, 1, c.Version)
		require.Empty(t, h.ls("e"))
	})

	t.Run("--author", func(t *testing.T) {
		h.commit("dev", "--author", "Jane <jane@example.org>", h.file("auth.txt", []byte("auth")))
		require.Equal(t, "Jane <jane@example.org>", h.head("dev").Author)
	})
	h.ok("fsck")
}

func TestRevisions(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	h.ok("repo", "create", "test")
	var ids []string
	for i := 1; i <= 4; i++ {
		ids = append(ids, h.commit("dev", h.file(fmt.Sprintf("f%d.txt", i), []byte(fmt.Sprint(i)))).ID)
	}
	h.ok("promote", "dev@2", "test")
	h.ok("promote", "dev", "test")
	h.ok("commit", "test", h.file("t.txt", []byte("t")))
	for _, c := range []struct {
		rev string
		id  string
	}{
		{"dev", ids[3]},
		{"dev@1", ids[0]},
		{"dev@4", ids[3]},
		{"dev~1", ids[2]},
		{"dev~", ids[2]},
		{"dev~~", ids[1]},
		{"dev~3", ids[0]},
		{"dev@3~2", ids[0]},
		{"dev@{0}", ids[3]},
		{"dev@{1}", ids[2]},
		{"dev@{3}", ids[0]},
		{"test@{1}", ids[3]},
		{"test@{2}", ids[1]},
		{"test@{1}~1", ids[2]},
		{ids[1][:8], ids[1]},
		{ids[1][:12], ids[1]},
		{ids[1], ids[1]},
		{ids[2][:8] + "~1", ids[1]},
	} {
		require.Equal(t, c.id, h.head(c.rev).ID, c.rev)
	}
	require.Equal(t, h.lsMap("dev"), h.lsMap("test@{1}"))
	require.Len(t, h.ls("dev@2"), 2)
	requireRefused(t, h.run("ls", "dev@{4}"))
	requireRefused(t, h.run("ls", "dev~4"))
	requireRefused(t, h.run("ls", "dev@5"))
}

func TestRetention(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "r", "--retain", "2")
	for i := 1; i <= 4; i++ {
		h.commit("r", h.file(fmt.Sprintf("f%d.txt", i), []byte(strings.Repeat("x", i))))
	}
	l := h.log("r")
	require.Len(t, l, 2)
	require.Equal(t, []int{4, 3}, []int{l[0].Version, l[1].Version})
	requireRefused(t, h.run("ls", "r@1"))
	h.ok("gc", "--grace", "0s")
	h.ok("fsck")
	require.Len(t, h.ls("r"), 4)
	require.Equal(t, "xxxx", h.ok("cat", "r", "f4.txt"))
}

// TestFlowDevTestProd is the CI/CD flow end to end.
func TestFlowDevTestProd(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"dev", "test", "prod"} {
		out := h.ok("repo", "create", n)
		require.Contains(t, out, n)
	}
	big := randBytes(t, 1<<20)
	h.file("build1/big.bin", big)
	h.file("build1/pkgs/app-1.0.tar.gz", []byte("app 1.0"))
	h.file("build1/pkgs/lib-1.0.tar.gz", []byte("lib 1.0"))

	// Commit to dev.
	c1 := h.commit("dev", filepath.Join(h.work, "build1"), "-m", "build 1")
	require.Equal(t, 1, c1.Version)
	require.Equal(t, "dev", c1.Repo)
	cat := h.run("cat", "dev", "big.bin")
	require.Equal(t, 0, cat.code, cat.stderr)
	require.True(t, bytes.Equal(big, []byte(cat.stdout)), "cat must be byte-exact")

	h.file("build2/pkgs/app-1.1.tar.gz", []byte("app 1.1"))
	h.file("build2/pkgs/lib-1.0.tar.gz", []byte("lib 1.0 rebuilt"))
	c2 := h.commit("dev", filepath.Join(h.work, "build2"), "--remove", "pkgs/app-1.0.tar.gz", "-m", "build 2")
	require.Equal(t, 2, c2.Version)

	// Diff.
	require.Equal(t, diffOut{
		Added:   []string{"pkgs/app-1.1.tar.gz"},
		Removed: []string{"pkgs/app-1.0.tar.gz"},
		Changed: []string{"pkgs/lib-1.0.tar.gz"},
	}, h.diff("dev@1", "dev"))
	txt := h.ok("diff", "dev@1", "dev@2")
	require.Contains(t, txt, "pkgs/app-1.1.tar.gz")

	// Promote to test: a fast-forward to the very same version.
	out := h.ok("promote", "dev", "test")
	require.Contains(t, out, "test")
	require.Equal(t, c2.ID, h.head("test").ID)
	require.Equal(t, h.ls("dev"), h.ls("test"))

	// Patch on test.
	hot := h.commit("test", h.file("hotfix/pkgs/lib-1.0.1.tar.gz", []byte("lib hotfix")), "-m", "hotfix")
	require.Equal(t, 3, hot.Version)

	// dev moves on; promoting now would drop test's hotfix: refused.
	c3 := h.commit("dev", h.dir("build3", "pkgs/app-1.2.tar.gz", "app 1.2"), "-m", "build 3")
	requireRefused(t, h.run("promote", "dev", "test"), "--force")
	require.Equal(t, hot.ID, h.head("test").ID)

	// --only copies packages instead.
	var only []map[string]any
	h.jsonOK(&only, "promote", "dev", "test", "--only", "pkgs/app-1.2*")
	require.Len(t, only, 1)
	require.Equal(t, true, only[0]["moved"])
	require.Contains(t, h.lsMap("test"), "pkgs/app-1.2.tar.gz")
	require.Contains(t, h.lsMap("test"), "lib-1.0.1.tar.gz")
	require.Equal(t, hot.ID, h.head("test").Parents[0])

	// --force resets test to dev.
	h.ok("promote", "dev", "test", "--force")
	require.Equal(t, c3.ID, h.head("test").ID)

	// Atomic multi-promote: judged against the heads before anything moved.
	c4 := h.commit("dev", h.dir("build4", "pkgs/app-1.3.tar.gz", "app 1.3"))
	var res []map[string]any
	h.jsonOK(&res, "promote", "dev:test", "test:prod")
	require.Len(t, res, 2)
	require.Equal(t, c4.ID, h.head("test").ID)
	require.Equal(t, c3.ID, h.head("prod").ID, "prod gets test's head from before the call")
	rl := h.reflog("test")
	require.Equal(t, rl[0].Time, h.reflog("prod")[0].Time, "one transaction")

	// An atomic promote where one pair is refused moves nothing.
	h.commit("prod", h.file("prodfix/p.txt", []byte("prod only")))
	prodHead := h.head("prod").ID
	c5 := h.commit("dev", h.dir("build5", "pkgs/app-1.4.tar.gz", "app 1.4"))
	requireRefused(t, h.run("promote", "dev:test", "test:prod"), "--force")
	require.Equal(t, c4.ID, h.head("test").ID, "atomic: test must not move when prod is refused")
	require.Equal(t, prodHead, h.head("prod").ID)
	h.ok("promote", "--force", "dev:test", "test:prod")
	require.Equal(t, c5.ID, h.head("test").ID)
	require.Equal(t, c4.ID, h.head("prod").ID)

	// Rollback: a new version with an old version's content.
	n := len(h.log("test"))
	var rb commitOut
	h.jsonOK(&rb, "rollback", "test", "test@{1}")
	require.Equal(t, h.head("test").Version, rb.Version)
	require.Len(t, h.log("test"), n+1)
	require.Equal(t, h.lsMap("dev~1"), h.lsMap("test"))
	require.Equal(t, c5.ID, h.head("test").Parents[0])
	out = h.ok("rollback", "test", "test~1")
	require.Regexp(t, `^test@\d+ [0-9a-f]{64}\n$`, out)
	require.Equal(t, h.lsMap("dev"), h.lsMap("test"))

	// Revisions.
	require.Equal(t, h.lsMap(c5.ID[:8]), h.lsMap("test"))
	require.Equal(t, c4.ID, h.head("dev~1").ID)
	require.Equal(t, h.lsMap("test~1"), h.lsMap("test@{1}"))
	require.Equal(t, c1.ID, h.head(c1.ID[:8]).ID)

	// cat is byte-exact through every kind of revision.
	for _, rev := range []string{"dev", "dev@1", "test", "prod", "test@{1}", "dev~1", c1.ID[:8], c1.ID} {
		r := h.run("cat", rev, "big.bin")
		require.Equal(t, 0, r.code, "%s: %s", rev, r.stderr)
		require.Equal(t, len(big), len(r.stdout), rev)
		require.True(t, bytes.Equal(big, []byte(r.stdout)), rev)
	}

	// Text output of the read commands.
	require.Contains(t, h.ok("log", "test"), "rollback")
	require.Contains(t, h.ok("ls", "test"), "big.bin")
	require.Contains(t, h.ok("reflog", "test"), "promote")
	require.Contains(t, h.ok("repo", "list"), "prod")
	require.Contains(t, h.ok("repo", "show", "prod"), "prod")

	// Maintenance.
	h.ok("repo", "delete", "prod")
	requireRefused(t, h.run("ls", "prod"))
	require.NotEmpty(t, h.reflog("prod"), "a deleted repository's reflog stays for audit")
	require.Contains(t, h.ok("gc", "--grace", "0s"), "deleted")
	require.Contains(t, h.ok("fsck"), "ok")
	require.Equal(t, "app 1.4", h.ok("cat", "test", "pkgs/app-1.4.tar.gz"))
}

// TestFsckFindsCorruption damages a stored blob and expects fsck and cat to
// refuse.
func TestFsckFindsCorruption(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	data := randBytes(t, 4096) // incompressible: stored raw
	h.ok("commit", "dev", h.file("r.bin", data))
	id := sha(data)
	p := filepath.Join(h.store, "data", "blobs", id[:2], id)
	require.NoError(t, os.Chmod(p, 0o644))
	data[100] ^= 0xff
	require.NoError(t, os.WriteFile(p, data, 0o644))
	r := h.run("fsck")
	require.Equal(t, 1, r.code, "%s", r)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(last, "pkgvc: "), "%s", r)
	require.Contains(t, last, "corrupt")
	require.Contains(t, r.stderr, id, "fsck names the damaged blob")
	r = h.run("cat", "dev", "r.bin")
	require.Equal(t, 1, r.code, "%s", r)
	require.Less(t, len(r.stdout), len(data), "a corrupt blob never yields its full content")
}

func TestLsEmptyVersionJSON(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "e")
	h.ok("commit", "e", "--allow-empty")
	require.Equal(t, "[]\n", h.ok("--json", "ls", "e"))
	h.ok("commit", "e", h.file("a.txt", []byte("a")))
	h.ok("commit", "e", "--remove", "a.txt")
	require.Equal(t, "[]\n", h.ok("--json", "ls", "e"))
}
