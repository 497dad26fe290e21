//go:build debianmirror

package upstream_test

// Opt-in: syncs a few packages with their dependencies from the Debian
// archive this machine's apt uses, publishes them, and has apt-get
// install and download one from pkgvc. testdata/debian-mirror.sh reads
// the mirror from the machine's apt sources and runs it.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
)

const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

func TestDebianMirror(t *testing.T) {
	mirror, suite := os.Getenv("PKGVC_TEST_DEBIAN_MIRROR"), os.Getenv("PKGVC_TEST_DEBIAN_SUITE")
	require.NotEmpty(t, mirror, "PKGVC_TEST_DEBIAN_MIRROR names the Debian mirror (testdata/debian-mirror.sh sets it)")
	if suite == "" {
		suite = "stable"
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pkgvc")
	build := exec.Command("go", "build", "-o", bin, "github.com/pkgvc/pkgvc/cmd/pkgvc")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	store := filepath.Join(dir, "store")
	P := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--store", store}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "pkgvc %s: %s", strings.Join(args, " "), stderr.String())
		return out
	}

	P("repo", "create", "deb", "--kind", "deb")
	P("remote", "create", "debian", "--kind", "deb", "--url", mirror, "--suite", suite, "--component", "main", "--arch", "amd64",
		"--package", "hello", "--with-deps", "--keyring", debianKeyring)
	P("sync", "debian", "deb")
	var recs []struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	}
	require.NoError(t, json.Unmarshal(P("--json", "ls", "deb"), &recs))
	byName := map[string]string{}
	var helloPath string
	for _, r := range recs {
		name, _, _ := strings.Cut(filepath.Base(r.Path), "_")
		byName[name] = r.SHA256
		if name == "hello" {
			helloPath = r.Path
		}
	}
	require.Contains(t, byName, "hello")
	require.Contains(t, byName, "libc6", "--with-deps brings hello's dependency")
	require.True(t, strings.HasPrefix(helloPath, "pool/main/h/hello/hello_") && strings.HasSuffix(helloPath, "_amd64.deb"), helloPath)
	require.Len(t, recs, len(byName), "one version of each package")

	// publish and let apt-get use it, on a private configuration
	P("key", "generate", "release")
	asc := P("key", "export", "release")
	blk, err := armor.Decode(bytes.NewReader(asc))
	require.NoError(t, err)
	var key bytes.Buffer
	_, err = key.ReadFrom(blk.Body)
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "key.gpg")
	require.NoError(t, os.WriteFile(keyFile, key.Bytes(), 0o644))
	P("dist", "create", "stable", "--base-path", "debian", "--repo", "deb", "--suite", "stable", "--codename", "stable",
		"--component", "main", "--arch", "amd64", "--arch", "all", "--sign-key", "release")
	port, err := freePort()
	require.NoError(t, err)
	serve := exec.Command(bin, "--store", store, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, serve.Start())
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d/content/debian", port)
	waitHTTP(t, base+"/dists/stable/InRelease")

	apt := filepath.Join(dir, "apt")
	aptConf, err := debtest.AptConfig(apt, fmt.Sprintf("deb [signed-by=%s] %s stable main", keyFile, base))
	require.NoError(t, err)
	AG := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("apt-get", append([]string{"-q"}, args...)...)
		cmd.Env = append(os.Environ(), "APT_CONFIG="+aptConf)
		cmd.Dir = apt
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "apt-get %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	upd := AG("update")
	require.NotRegexp(t, `(?m)^(W|E):`, upd)
	sim := AG("install", "--simulate", "hello")
	require.Regexp(t, `(?m)^Inst hello `, sim)
	require.Regexp(t, `(?m)^Inst libc6 `, sim, "the dependency comes from pkgvc too")
	AG("download", "hello")
	got, err := filepath.Glob(filepath.Join(apt, "hello_*_amd64.deb"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	b, err := os.ReadFile(got[0])
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	require.Equal(t, byName["hello"], hex.EncodeToString(sum[:]), "apt-get download gives the upstream's bytes")
}

func waitHTTP(t *testing.T, url string) {
	for i := 0; i < 100; i++ {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200", url)
}
