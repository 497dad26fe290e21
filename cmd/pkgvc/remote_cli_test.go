package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
)

// remoteOut is the --json shape of remote create/show/update.
type remoteOut struct {
	Name                string   `json:"name"`
	Kind                string   `json:"kind"`
	URL                 string   `json:"url"`
	Policy              string   `json:"policy"`
	Include             []string `json:"include"`
	Exclude             []string `json:"exclude"`
	Username            string   `json:"username"`
	PasswordFile        string   `json:"password_file"`
	Proxy               string   `json:"proxy"`
	TLSInsecure         bool     `json:"tls_insecure"`
	ConnectTimeout      string   `json:"connect_timeout"`
	ReadTimeout         string   `json:"read_timeout"`
	DownloadConcurrency int      `json:"download_concurrency"`
	Retries             int      `json:"retries"`
}

// syncOut is the --json shape of sync.
type syncOut struct {
	Remote          string   `json:"remote"`
	Repo            string   `json:"repo"`
	Version         int      `json:"version"`
	ID              string   `json:"id"`
	Changed         bool     `json:"changed"`
	Added           int      `json:"added"`
	Updated         int      `json:"updated"`
	Removed         int      `json:"removed"`
	Unchanged       int      `json:"unchanged"`
	Downloaded      int      `json:"downloaded"`
	BytesDownloaded int64    `json:"bytes_downloaded"`
	Failed          int      `json:"failed"`
	Failures        []string `json:"failures"`
	Seconds         float64  `json:"seconds"`
}

func TestRemoteCLI(t *testing.T) {
	h := newHarness(t)
	pw := h.file("secrets/pw", []byte("hunter2\n"))
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, pw)
	require.NoError(t, err)

	var r remoteOut
	h.jsonOK(&r, "remote", "create", "up", "--kind", "file", "--url", "https://example.com/repo/PULP_MANIFEST",
		"--include", "a/**", "--include", "b/{x,y}.bin", "--exclude", "*.iso",
		"--username", "me", "--password-file", rel, "--proxy", "http://proxy:3128",
		"--connect-timeout", "5s", "--read-timeout", "2m", "--download-concurrency", "8", "--retries", "5")
	require.Equal(t, remoteOut{
		Name: "up", Kind: "file", URL: "https://example.com/repo/PULP_MANIFEST", Policy: "immediate",
		Include: []string{"a/**", "b/{x,y}.bin"}, Exclude: []string{"*.iso"}, Username: "me", PasswordFile: pw,
		Proxy: "http://proxy:3128", ConnectTimeout: "5s", ReadTimeout: "2m0s", DownloadConcurrency: 8, Retries: 5,
	}, r, "the password file is stored as an absolute path")
	out := h.ok("--json", "remote", "show", "up")
	require.NotContains(t, out, "hunter2", "the password itself is never stored or shown")

	// Defaults.
	out = h.ok("remote", "create", "plain", "--url", "http://127.0.0.1:9/PULP_MANIFEST")
	require.Equal(t, "created remote plain (kind file, policy immediate): http://127.0.0.1:9/PULP_MANIFEST\n", out)
	r = remoteOut{}
	h.jsonOK(&r, "remote", "show", "plain")
	require.Equal(t, "immediate", r.Policy)
	require.Equal(t, 4, r.DownloadConcurrency)
	require.Equal(t, 3, r.Retries)
	require.Equal(t, "30s", r.ConnectTimeout)
	require.False(t, r.TLSInsecure)

	out = h.ok("remote", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^NAME\s+KIND\s+POLICY\s+URL$`, lines[0])
	require.Regexp(t, `^plain\s+file\s+immediate\s+http://127.0.0.1:9/PULP_MANIFEST$`, lines[1])
	var list []remoteOut
	h.jsonOK(&list, "remote", "list")
	require.Len(t, list, 2)
	require.Equal(t, "plain", list[0].Name)

	out = h.ok("remote", "show", "up")
	for _, want := range []string{"name:", "up", "policy:", "immediate", "a/** b/{x,y}.bin", "password file:", pw, "tls:", "verify"} {
		require.Contains(t, out, want)
	}

	// Update changes only the flags given; '' clears.
	r = remoteOut{}
	h.jsonOK(&r, "remote", "update", "up", "--policy", "on_demand", "--include", "", "--tls-insecure")
	require.Equal(t, "on_demand", r.Policy)
	require.Empty(t, r.Include)
	require.Equal(t, []string{"*.iso"}, r.Exclude)
	require.True(t, r.TLSInsecure)
	require.Equal(t, 8, r.DownloadConcurrency)
	require.Equal(t, "updated remote up\n", h.ok("remote", "update", "up", "--tls-insecure=false", "--username", "", "--password-file", ""))
	r = remoteOut{}
	h.jsonOK(&r, "remote", "show", "up")
	require.False(t, r.TLSInsecure)
	require.Empty(t, r.Username)

	// Refusals and usage errors.
	requireRefused(t, h.run("remote", "create", "up", "--url", "http://h/PULP_MANIFEST"), "already exists")
	requireRefused(t, h.run("remote", "create", "Bad", "--url", "http://h/PULP_MANIFEST"), "name")
	requireRefused(t, h.run("remote", "create", "x", "--url", "h/PULP_MANIFEST"), "http://")
	requireRefused(t, h.run("remote", "create", "x", "--url", "http://h/M", "--policy", "sometimes"), "policy")
	requireRefused(t, h.run("remote", "create", "x", "--url", "http://h/M", "--kind", "nosuch"), "unknown remote kind")
	requireRefused(t, h.run("remote", "create", "x", "--url", "http://h/M", "--ca-cert", "/nonexistent.pem"), "CA certificate")
	requireRefused(t, h.run("remote", "update", "up", "--policy", "never"), "policy")
	requireRefused(t, h.run("remote", "show", "nosuch"), "remote not found")
	require.Equal(t, 2, h.run("remote", "create", "x").code, "--url is required")
	require.Equal(t, 2, h.run("remote", "create").code)
	require.Equal(t, 2, h.run("remote", "update", "up").code, "nothing to change")
	require.Equal(t, 2, h.run("remote", "create", "x", "--url", "http://h/M", "--retries", "many").code)

	var del map[string]string
	h.jsonOK(&del, "remote", "delete", "up")
	require.Equal(t, map[string]string{"deleted": "up"}, del)
	require.Equal(t, "deleted remote plain\n", h.ok("remote", "delete", "plain"))
	requireRefused(t, h.run("remote", "delete", "plain"), "remote not found")
	require.Equal(t, "[]\n", h.ok("--json", "remote", "list"))
}

// upstreamDir writes files and their PULP_MANIFEST under the harness work
// directory and returns the directory.
func (h *harness) upstreamDir(files map[string][]byte) string {
	h.t.Helper()
	dir := filepath.Join(h.work, "upstream")
	require.NoError(h.t, os.RemoveAll(dir))
	var paths []string
	for p, data := range files {
		h.file("upstream/"+p, data)
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var m strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&m, "%s,%s,%d\n", p, sha(files[p]), len(files[p]))
	}
	h.file("upstream/PULP_MANIFEST", []byte(m.String()))
	return dir
}

func TestSyncCLI(t *testing.T) {
	h := newHarness(t)
	files := map[string][]byte{
		"a/f1.bin": randBytes(t, 5000), "a/f2.bin": randBytes(t, 5000), "a/f3.bin": randBytes(t, 5000),
	}
	dir := h.upstreamDir(files)
	base := httpxtest.StaticServer(t, dir)
	h.ok("repo", "create", "mirror")
	h.ok("remote", "create", "up", "--kind", "file", "--url", base+"PULP_MANIFEST")

	out := h.ok("sync", "up", "mirror")
	require.Regexp(t, `^mirror@1 [0-9a-f]{64}\n3 added, 0 updated, 0 removed, 0 unchanged; downloaded 3 file\(s\), 14.6 KiB in \d+ms\n$`, out)
	require.Equal(t, map[string]string{"a/f1.bin": sha(files["a/f1.bin"]), "a/f2.bin": sha(files["a/f2.bin"]), "a/f3.bin": sha(files["a/f3.bin"])}, h.lsMap("mirror"))

	// No change: no version.
	var s syncOut
	h.jsonOK(&s, "sync", "up", "mirror")
	require.False(t, s.Changed)
	require.Equal(t, 1, s.Version)
	require.Equal(t, 3, s.Unchanged)
	require.Equal(t, h.head("mirror").ID, s.ID)
	require.Len(t, h.log("mirror"), 1)
	out = h.ok("sync", "up", "mirror")
	require.Contains(t, out, "nothing to sync: mirror@1 ")

	// Tampered upstream: refused, naming the file; no version.
	tampered := randBytes(t, 5000)
	h.file("upstream/a/f1.bin", tampered)
	f4 := files["a/f2.bin"]
	h.file("upstream/a/f4.bin", f4)
	m, err := os.ReadFile(filepath.Join(dir, "PULP_MANIFEST"))
	require.NoError(t, err)
	h.file("upstream/PULP_MANIFEST", append(m, fmt.Sprintf("a/f4.bin,%s,5000\n", sha(tampered))...))
	r := h.run("sync", "up", "mirror", "--mirror")
	requireRefused(t, r, "a/f4.bin", "sha256 mismatch", "no version made")
	require.Contains(t, r.stdout, "sync up → mirror failed")
	require.Len(t, h.log("mirror"), 1)
	r = h.run("--json", "sync", "up", "mirror")
	require.Equal(t, 1, r.code)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	require.Equal(t, 1, s.Failed)
	require.Len(t, s.Failures, 1)
	require.Contains(t, s.Failures[0], "a/f4.bin: sha256 mismatch")

	// Fixed upstream, with one file dropped: --mirror removes it.
	delete(files, "a/f3.bin")
	files["a/f4.bin"] = f4
	h.upstreamDir(files)
	h.jsonOK(&s, "sync", "up", "mirror", "--mirror", "-m", "nightly mirror")
	require.True(t, s.Changed)
	require.Equal(t, 2, s.Version)
	require.Equal(t, 1, s.Added)
	require.Equal(t, 1, s.Removed)
	require.Zero(t, s.Downloaded, "f4's bytes equal f2's, already stored")
	require.Equal(t, "nightly mirror", h.head("mirror").Message)
	require.Equal(t, map[string]string{"a/f1.bin": sha(files["a/f1.bin"]), "a/f2.bin": sha(f4), "a/f4.bin": sha(f4)}, h.lsMap("mirror"))

	// On demand: records without bytes.
	h.ok("repo", "create", "lazy")
	h.ok("remote", "update", "up", "--policy", "on_demand")
	h.jsonOK(&s, "sync", "up", "lazy")
	require.Equal(t, 3, s.Added)
	require.Zero(t, s.Downloaded)
	for _, e := range h.ls("lazy") {
		require.Equal(t, "up", e.Metadata["pkgvc.remote"])
		require.Equal(t, base+e.Path, e.Metadata["pkgvc.url"])
	}

	requireRefused(t, h.run("sync", "nosuch", "mirror"), "remote not found")
	requireRefused(t, h.run("sync", "up", "nosuch"), "repository not found")
	require.Equal(t, 2, h.run("sync", "up").code)
	require.Equal(t, 2, h.run("sync", "up", "mirror", "extra").code)
}

func TestSyncCLIHTTPError(t *testing.T) {
	h := newHarness(t)
	dir := h.upstreamDir(map[string][]byte{"here.txt": []byte("here\n")})
	base := httpxtest.StaticServer(t, dir)
	m, err := os.ReadFile(filepath.Join(dir, "PULP_MANIFEST"))
	require.NoError(t, err)
	h.file("upstream/PULP_MANIFEST", append(m, fmt.Sprintf("gone.txt,%s,5\n", sha([]byte("gone\n")))...))
	h.ok("repo", "create", "mirror")
	h.ok("remote", "create", "up", "--url", base+"PULP_MANIFEST")
	requireRefused(t, h.run("sync", "up", "mirror"), "gone.txt", "404")

	h.file("upstream/PULP_MANIFEST", []byte("../evil,"+sha([]byte("x"))+",1\n"))
	requireRefused(t, h.run("sync", "up", "mirror"), "PULP_MANIFEST line 1", "..")
	requireRefused(t, h.run("log", "mirror"), "no versions")
}
