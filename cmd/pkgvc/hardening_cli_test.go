package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/remote"
)

// commit --add DIR refuses a symbolic link to a file outside DIR, naming the
// link and its target, unless --follow-symlinks.
func TestCommitRefusesSymlinkLeavingDir(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "ln")
	dir := h.dir("d", "fine.txt", "ok\n")
	secret := h.file("outside.txt", []byte("secret\n"))
	link := filepath.Join(dir, "leak.txt")
	require.NoError(t, os.Symlink(secret, link))

	r := h.run("commit", "ln", "--add", dir)
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, link)
	require.Contains(t, r.stderr, secret)
	require.Equal(t, 1, h.run("ls", "ln").code, "no version was made")

	h.commit("ln", "--add", dir, "--follow-symlinks")
	require.Equal(t, []string{"fine.txt", "leak.txt"}, []string{h.ls("ln")[0].Path, h.ls("ln")[1].Path})
}

// --config reads only a regular file of bounded size: /dev/zero, a FIFO
// or a huge file are refused at once.
func TestConfigBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := filepath.Join(dir, "big.toml")
	require.NoError(t, os.WriteFile(big, []byte("# "+strings.Repeat("x", maxConfigBytes)+"\n"), 0o644))
	for _, cfg := range []string{"/dev/zero", fifo, dir, big} {
		done := make(chan result, 1)
		go func() { done <- runCLI(t, "--store", filepath.Join(dir, "store"), "--config", cfg, "repo", "list") }()
		select {
		case r := <-done:
			require.Equal(t, 2, r.code, "%s: %s", cfg, r)
			require.Contains(t, r.stderr, cfg)
		case <-time.After(10 * time.Second):
			t.Fatalf("--config %s: still reading after 10s", cfg)
		}
	}
}

// A package path segment longer than a file name may be is refused at
// commit, before it can break a checkout.
func TestCommitRefusesLongSegment(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	f := h.file("a.txt", []byte("a"))
	r := h.run("commit", "dev", "--add", f+"=d/"+strings.Repeat("x", 256))
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "longer than 255 bytes")
	h.commit("dev", "--add", f+"=d/"+strings.Repeat("x", 255))
}

// Proxy credentials are refused in --proxy and taken from a file; no
// remote show or list, local or through a server, returns the password.
func TestRemoteProxyCredentials(t *testing.T) {
	h := newHarness(t)
	r := h.run("remote", "create", "up", "--url", "http://files.example/PULP_MANIFEST", "--proxy", "http://me:s3cret@proxy:3128")
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "--proxy-password-file")
	require.NotContains(t, r.stderr+r.stdout, "s3cret")

	pw := h.file("proxy.pw", []byte("s3cret\n"))
	h.ok("remote", "create", "up", "--url", "http://files.example/PULP_MANIFEST", "--proxy", "http://proxy:3128",
		"--proxy-username", "me", "--proxy-password-file", pw)
	out := h.ok("remote", "show", "up")
	require.Regexp(t, `(?m)^proxy username: +me$`, out)
	require.Contains(t, out, pw)
	r = h.run("remote", "update", "up", "--proxy", "http://me:other@proxy:3128")
	require.Equal(t, 1, r.code, r)

	// A remote stored with the password in its proxy URL, as before
	// credentials were refused there: the library writes its document.
	st, err := fsstore.OpenDir(t.Context(), h.store, all.Kinds())
	require.NoError(t, err)
	old := remote.Remote{Name: "old", Kind: "file", URL: "http://files.example/PULP_MANIFEST", Policy: remote.Immediate,
		Proxy: "http://me:s3cret@proxy:3128", DownloadConcurrency: 4}
	_, err = meta.PutJSON(t.Context(), st.Meta(), "remotes/old", &old, "")
	require.NoError(t, err)
	var stored remote.Remote
	_, err = meta.GetJSON(t.Context(), st.Meta(), "remotes/old", &stored)
	require.NoError(t, err)
	require.Equal(t, old.Proxy, stored.Proxy, "the store holds the password")

	var tok struct {
		Token string `json:"token"`
	}
	h.jsonOK(&tok, "token", "create", "--name", "reader2", "--scope", "remote:*:read")
	tf := h.file("reader.token", []byte(tok.Token))
	base, _ := startServe(t, h)
	for _, hh := range []*harness{h, h.through(base, tf)} {
		for _, args := range [][]string{{"remote", "show", "old"}, {"--json", "remote", "show", "old"}, {"remote", "list"}, {"--json", "remote", "list"},
			{"remote", "show", "up"}, {"--json", "remote", "show", "up"}} {
			out := hh.ok(args...)
			require.NotContains(t, out, "s3cret", args)
			if args[len(args)-1] == "old" || args[0] == "--json" {
				require.Contains(t, out, "proxy:3128", "%s shows the proxy, without its password", args)
			}
		}
	}
	for _, p := range []string{"/remotes/old", "/remotes"} {
		req, err := http.NewRequest(http.MethodGet, base+"/api/v1"+p, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		require.Contains(t, string(b), "proxy:3128", p)
		require.NotContains(t, string(b), "s3cret", p)
	}
}

// damageBlob flips a byte of the stored blob of data, as a failing disk
// would, and returns its path.
func damageBlob(t *testing.T, store string, data []byte) {
	t.Helper()
	p := filepath.Join(store, "data", "blobs", sha(data)[:2], sha(data))
	require.NoError(t, os.Chmod(p, 0o644))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{data[100] ^ 0xff}, 100)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// fsck --repair fetches a damaged synced blob again from the remote's
// upstream and names the blob no remote offers; committing that file again
// repairs it too. Locally and through a server (as a task).
func TestFsckRepair(t *testing.T) {
	for _, through := range []bool{false, true} {
		t.Run(fmt.Sprintf("server=%v", through), func(t *testing.T) {
			h := newHarness(t)
			up := t.TempDir()
			synced := randBytes(t, 200000)
			require.NoError(t, os.WriteFile(filepath.Join(up, "pkg.bin"), synced, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(up, "PULP_MANIFEST"), fmt.Appendf(nil, "pkg.bin,%s,%d\n", sha(synced), len(synced)), 0o644))
			upstream := httptest.NewServer(http.FileServer(http.Dir(up)))
			t.Cleanup(upstream.Close)
			h.ok("repo", "create", "mirror")
			h.ok("remote", "create", "up", "--url", upstream.URL+"/PULP_MANIFEST")
			h.ok("sync", "up", "mirror")
			local := randBytes(t, 100000)
			h.ok("repo", "create", "dev")
			h.commit("dev", "--add", h.file("local.bin", local))

			damageBlob(t, h.store, synced)
			damageBlob(t, h.store, local)
			run := h
			if through {
				var tok struct {
					Token string `json:"token"`
				}
				h.jsonOK(&tok, "token", "create", "--name", "admin", "--scope", "*:*:admin")
				base, _ := startServe(t, h)
				run = h.through(base, h.file("admin.token", []byte(tok.Token)))
			}
			r := run.run("fsck")
			require.Equal(t, 1, r.code, r)
			require.Contains(t, r.stderr, "fsck --repair")

			r = run.run("fsck", "--repair")
			require.Equal(t, 1, r.code, "local.bin is on no remote: %s", r)
			require.Contains(t, r.stdout, "repaired: pkg.bin ("+sha(synced)+")")
			require.Contains(t, r.stderr, "could not repair: local.bin ("+sha(local)+")")
			require.NotContains(t, r.stderr, "pkg.bin", "pkg.bin is whole again")

			run.commit("dev", "--add", h.file("again/local.bin", local))
			out := run.ok("fsck")
			require.Contains(t, out, "ok:")
		})
	}
}
