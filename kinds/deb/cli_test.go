package deb_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// pkgvcCLI builds the pkgvc command and returns a runner on a fresh store.
func pkgvcCLI(t *testing.T) func(args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "pkgvc")
	b, err := exec.Command("go", "build", "-o", bin, "github.com/pkgvc/pkgvc/cmd/pkgvc").CombinedOutput()
	require.NoError(t, err, "go build: %s", b)
	store := filepath.Join(dir, "store")
	return func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"--store", store}, args...)...)
		cmd.Env = append(os.Environ(), "PKGVC_STORE="+store)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

// TestCLICommitAndDiff runs what the apt acceptance check runs: a
// directory of dpkg-deb built packages committed to a deb repository
// lands at pool paths, a truncated one is refused without a version, and
// `diff --by-package` says hello-b 2.0 -> 2.1 upgraded.
func TestCLICommitAndDiff(t *testing.T) {
	run := pkgvcCLI(t)
	ok := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		require.NoError(t, err, "pkgvc %s: %s", strings.Join(args, " "), out)
		return out
	}
	jsonOK := func(v any, args ...string) {
		t.Helper()
		require.NoError(t, json.Unmarshal([]byte(ok(append([]string{"--json"}, args...)...)), v))
	}
	dir := t.TempDir()
	debs, debs2 := filepath.Join(dir, "debs"), filepath.Join(dir, "debs2")
	a := mkdeb(t, debs, "hello-a", "1.0", "Depends: hello-b (>= 2.0)\n")
	mkdeb(t, debs, "hello-b", "2.0", "", "-Zgzip")
	mkdeb(t, debs2, "hello-b", "2.1", "", "-Zzstd")

	ok("repo", "create", "deb", "--kind", "deb")
	ok("commit", "deb", "--add", debs)
	ls := func() []string {
		var recs []repo.Record
		jsonOK(&recs, "ls", "deb")
		var out []string
		for _, r := range recs {
			out = append(out, r.Path)
		}
		sort.Strings(out)
		return out
	}
	require.Equal(t, []string{"pool/main/h/hello-a/hello-a_1.0_all.deb", "pool/main/h/hello-b/hello-b_2.0_all.deb"}, ls())
	cat := ok("cat", "deb", "pool/main/h/hello-a/hello-a_1.0_all.deb")
	require.Equal(t, string(readFile(t, a)), cat)

	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.MkdirAll(broken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "hello-c_1.0_all.deb"), readFile(t, a)[:300], 0o644))
	var log1 []map[string]any
	jsonOK(&log1, "log", "deb")
	out, err := run("commit", "deb", "--add", broken)
	require.Error(t, err, "a truncated .deb: %s", out)
	require.Contains(t, out, "truncated")
	var log2 []map[string]any
	jsonOK(&log2, "log", "deb")
	require.Len(t, log2, len(log1), "a refused commit made a version")

	ok("commit", "deb", "--remove", "pool/main/h/hello-b/hello-b_2.0_all.deb", "--add", debs2)
	var d repo.PackageDiff
	jsonOK(&d, "diff", "--by-package", "deb~1", "deb")
	require.Equal(t, []repo.PackageEntry{{Name: "hello-b", Arch: "all", Old: "2.0", New: "2.1", Change: repo.ChangeUpgraded}}, d.Packages)

	// --component places a package in another component.
	mkdeb(t, filepath.Join(dir, "c"), "hello-c", "1.0", "")
	ok("commit", "deb", "--component", "contrib", "--add", filepath.Join(dir, "c"))
	require.Contains(t, ls(), "pool/contrib/h/hello-c/hello-c_1.0_all.deb")
	help := ok("commit", "--help")
	require.Contains(t, help, "--component")
}
