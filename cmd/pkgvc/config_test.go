package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, toml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pkgvc.toml")
	require.NoError(t, os.WriteFile(p, []byte(toml), 0o644))
	return p
}

// repoKinds lists the repositories of store as name -> kind.
func repoKinds(t *testing.T, store string) map[string]string {
	t.Helper()
	h := &harness{t: t, store: store}
	var repos []struct{ Name, Kind string }
	h.jsonOK(&repos, "repo", "list")
	out := map[string]string{}
	for _, r := range repos {
		out[r.Name] = r.Kind
	}
	return out
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	fileStore, envStore, flagStore := filepath.Join(dir, "file"), filepath.Join(dir, "env"), filepath.Join(dir, "flag")
	cfg := writeConfig(t, `
store = "`+fileStore+`"

[repo.create]
kind = "python"
`)
	t.Setenv("PKGVC_STORE", "") // restored after the test
	os.Unsetenv("PKGVC_STORE")
	t.Setenv("PKGVC_CONFIG", "")
	os.Unsetenv("PKGVC_CONFIG")

	// The file's values are used: the global store, the command's kind.
	r := runCLI(t, "--config", cfg, "repo", "create", "a")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, map[string]string{"a": "python"}, repoKinds(t, fileStore))

	// A flag on the command line wins over the file; so does --config
	// after the command, and $PKGVC_CONFIG names the file too.
	r = runCLI(t, "repo", "create", "--config", cfg, "--kind", "file", "b")
	require.Equal(t, 0, r.code, "%s", r)
	t.Setenv("PKGVC_CONFIG", cfg)
	r = runCLI(t, "repo", "create", "c")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, map[string]string{"a": "python", "b": "file", "c": "python"}, repoKinds(t, fileStore))

	// The environment wins over the file.
	t.Setenv("PKGVC_STORE", envStore)
	r = runCLI(t, "repo", "create", "d")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, map[string]string{"d": "python"}, repoKinds(t, envStore))

	// A flag wins over the environment and the file.
	r = runCLI(t, "--store", flagStore, "repo", "create", "e")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, map[string]string{"e": "python"}, repoKinds(t, flagStore))
	require.NotContains(t, repoKinds(t, envStore), "e")
}

func TestConfigRefused(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	for _, tc := range []struct {
		name, toml string
		want       []string
	}{
		{"unknown keys", "stor = \"x\"\n[serve]\nlisen = \"127.0.0.1:1\"\n[nope]\nx = 1\n",
			[]string{"unknown key stor", "unknown key serve.lisen", "unknown key nope"}},
		{"global flag in a command table", "[serve]\nstore = \"x\"\n", []string{"serve.store", "top level"}},
		{"command as a value", "serve = \"x\"\n", []string{"serve is a command"}},
		{"flag as a table", "[store]\nx = 1\n", []string{"store is a flag"}},
		{"list for one value", "[serve]\nlisten = [\"a\", \"b\"]\n", []string{"serve.listen", "not a list"}},
		{"bad TOML", "store = \n", []string{"pkgvc.toml", "line 1"}},
		{"bad value", "[repo.create]\nretain = \"many\"\n", []string{"pkgvc.toml", "repo.create.retain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.toml)
			r := runCLI(t, "--store", store, "--config", cfg, "repo", "create", "x")
			require.Equal(t, 2, r.code, "%s", r)
			for _, w := range tc.want {
				require.Contains(t, r.stderr, w)
			}
			require.NoDirExists(t, store, "nothing ran")
		})
	}
	r := runCLI(t, "--config", filepath.Join(t.TempDir(), "missing.toml"), "repo", "list")
	require.Equal(t, 2, r.code, "%s", r)
	require.Contains(t, r.stderr, "missing.toml")
}

// TestConfigServe starts serve with its listen address and limits from
// the file.
func TestConfigServe(t *testing.T) {
	h := newHarness(t)
	addr := freeAddr(t)
	cfg := writeConfig(t, `
store = "`+h.store+`"

[serve]
listen = "`+addr+`"
read-header-timeout = "5s"
max-header-bytes = 2048
max-conns-per-ip = 2
`)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"pkgvc", "--config", cfg, "serve"}, io.Discard, stderr) }()
	defer func() {
		cancel()
		select {
		case code := <-done:
			require.Equal(t, 0, code, "stderr: %s", stderr.String())
		case <-time.After(40 * time.Second):
			t.Fatal("serve did not stop")
		}
	}()
	var resp *http.Response
	require.Eventually(t, func() bool {
		var err error
		resp, err = http.Get("http://" + addr + "/healthz")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "serve did not start on the file's address: %s", stderr.String())
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The file's header limit applies.
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	go io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: a\r\nX: "+strings.Repeat("x", 8<<10)+"\r\n\r\n")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 12)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 431", string(buf))

	// So does its connection limit: a third connection is refused
	// while two are held.
	c.Close()
	http.DefaultClient.CloseIdleConnections()
	status := func(c net.Conn) string {
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return resp.Status
	}
	require.Eventually(t, func() bool {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for range 3 {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			held = append(held, c)
		}
		return status(held[0]) == "200 OK" && status(held[1]) == "200 OK" && status(held[2]) == "503 Service Unavailable"
	}, 10*time.Second, 100*time.Millisecond, "max-conns-per-ip from the file")
}

func TestConfigEnvNames(t *testing.T) {
	r := runCLI(t, "serve", "--help")
	require.Equal(t, 0, r.code, "%s", r)
	for _, env := range []string{"PKGVC_CONFIG", "PKGVC_STORE", "PKGVC_SERVER", "PKGVC_LISTEN", "PKGVC_TLS_CERT", "PKGVC_WRITE_TIMEOUT", "PKGVC_MAX_BODY_BYTES"} {
		require.Contains(t, r.stdout, "$"+env)
	}
}

// TestConfigLists sets repeatable flags from TOML lists; the command line
// replaces the file's list.
func TestConfigLists(t *testing.T) {
	h := newHarness(t)
	cfg := writeConfig(t, "[remote.create]\ninclude = [\"*.whl\", \"*.tar.gz\"]\nexclude = \"x*\"\n")
	h.ok("--config", cfg, "remote", "create", "a", "--kind", "file", "--url", "http://127.0.0.1:1/PULP_MANIFEST")
	h.ok("--config", cfg, "remote", "create", "b", "--kind", "file", "--url", "http://127.0.0.1:1/PULP_MANIFEST", "--include", "b*")
	var a, b struct{ Include, Exclude []string }
	h.jsonOK(&a, "remote", "show", "a")
	h.jsonOK(&b, "remote", "show", "b")
	require.Equal(t, []string{"*.whl", "*.tar.gz"}, a.Include)
	require.Equal(t, []string{"x*"}, a.Exclude)
	require.Equal(t, []string{"b*"}, b.Include)
}
