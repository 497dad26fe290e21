package upstream_test

// The upstream of these tests is a real apt repository: .debs built with
// dpkg-deb, published by aptly (signed by a key in a private GNUPGHOME),
// served by nginx on loopback.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
)

// archive is the test upstream, shared by the package's tests.
type archive struct {
	dir     string // temporary root
	url     string // nginx's http://127.0.0.1:PORT
	keyring string // binary keyring of the signing key
	armored string // the same key, armored
	other   string // binary keyring of an unrelated key
	debs    map[string][]byte
}

// arc is the test upstream, made by the first test that needs it.
var (
	arc        *archive
	arcErr     error
	arcOnce    sync.Once
	arcCleanup = func() {}
)

// needArchive makes the test upstream, once.
func needArchive(t *testing.T) {
	t.Helper()
	arcOnce.Do(func() { arc, arcCleanup, arcErr = newArchive() })
	if arcErr != nil {
		t.Fatal("test upstream:", arcErr)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	arcCleanup() // nginx and gpg-agent stop with the tests
	os.Exit(code)
}

// pkgSpec is one .deb to build.
type pkgSpec struct {
	name, version, arch string
	fields              string // extra control lines
}

var specs = []pkgSpec{
	{"hello-a", "1.0", "all", "Depends: hello-b (>= 2.0)\n"},
	{"hello-b", "2.0", "all", ""},
	{"hello-b", "2.1", "all", ""},
	// the closure: c-top -> c-mid -> c-low, an alternative, a Provides, a Recommends
	{"c-top", "1.0", "all", "Depends: c-mid, c-missing | c-alt, c-virtual, c-first | c-second\nRecommends: c-rec\n"},
	{"c-mid", "1.0", "all", "Pre-Depends: c-low (>= 1.5)\n"},
	{"c-low", "1.0", "all", ""},
	{"c-low", "2.0", "all", ""},
	{"c-alt", "1.0", "all", ""},
	{"c-prov", "1.0", "all", "Provides: c-virtual\n"},
	{"c-first", "1.0", "all", ""},
	{"c-second", "1.0", "all", ""},
	{"c-rec", "1.0", "all", "Depends: c-recdep\n"},
	{"c-recdep", "1.0", "all", ""},
	{"c-bin", "1:3.0-1", "amd64", "Source: c-src (3.0-1)\n"},
}

func debName(s pkgSpec) string {
	v := s.version
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	return s.name + "_" + v + "_" + s.arch + ".deb"
}

func run(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func newArchive() (*archive, func(), error) {
	dir, err := os.MkdirTemp("", "debup")
	if err != nil {
		return nil, func() {}, err
	}
	gh := filepath.Join(dir, "g")
	env := []string{"GNUPGHOME=" + gh}
	var nginx *exec.Cmd
	cleanup := func() {
		if nginx != nil && nginx.Process != nil {
			// SIGTERM: nginx's master stops its workers (a killed master
			// would leave them running).
			_ = nginx.Process.Signal(syscall.SIGTERM)
			_ = nginx.Wait()
		}
		_ = run(env, "gpgconf", "--kill", "all")
		_ = os.RemoveAll(dir)
	}
	a := &archive{dir: dir, debs: map[string][]byte{}}
	if err := os.Mkdir(gh, 0o700); err != nil {
		return nil, cleanup, err
	}
	for _, s := range specs {
		if err := a.build(s); err != nil {
			return nil, cleanup, err
		}
	}
	steps := [][]string{
		{"gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Upstream <up@example.invalid>", "ed25519", "sign", "never"},
		{"gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Other <other@example.invalid>", "ed25519", "sign", "never"},
		{"gpg", "--batch", "--output", filepath.Join(dir, "up.gpg"), "--export", "up@example.invalid"},
		{"gpg", "--batch", "--armor", "--output", filepath.Join(dir, "up.asc"), "--export", "up@example.invalid"},
		{"gpg", "--batch", "--output", filepath.Join(dir, "other.gpg"), "--export", "other@example.invalid"},
	}
	conf := filepath.Join(dir, "aptly.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `{"rootDir":"%s/aptly","gpgProvider":"gpg"}`, dir), 0o644); err != nil {
		return nil, cleanup, err
	}
	ap := func(args ...string) []string { return append([]string{"aptly", "-config=" + conf}, args...) }
	pub := func(snap, prefix string, extra ...string) []string {
		args := append([]string{"publish", "snapshot", "-batch", "-distribution=stable", "-architectures=amd64,all"}, extra...)
		return ap(append(args, snap, prefix)...)
	}
	steps = append(steps,
		ap("repo", "create", "-distribution=stable", "-component=main", "up"),
		ap("repo", "add", "up", filepath.Join(dir, "debs")),
		ap("snapshot", "create", "full", "from", "repo", "up"),
		pub("full", "good", "-gpg-key=up@example.invalid"),
		pub("full", "bad", "-gpg-key=up@example.invalid"),
		pub("full", "plain", "-gpg-key=up@example.invalid"),
		pub("full", "unsigned", "-skip-signing"),
		pub("full", "byhash", "-gpg-key=up@example.invalid", "-acquire-by-hash"),
		ap("repo", "remove", "up", "hello-b (= 2.0)"),
		ap("snapshot", "create", "shrunk", "from", "repo", "up"),
		pub("shrunk", "shrunk", "-gpg-key=up@example.invalid"),
	)
	for _, s := range steps {
		if err := run(env, s[0], s[1:]...); err != nil {
			return nil, cleanup, err
		}
	}
	a.keyring, a.armored, a.other = filepath.Join(dir, "up.gpg"), filepath.Join(dir, "up.asc"), filepath.Join(dir, "other.gpg")
	public := filepath.Join(dir, "aptly", "public")
	// plain: no InRelease, so Release and Release.gpg are read
	if err := os.Remove(filepath.Join(public, "plain", "dists", "stable", "InRelease")); err != nil {
		return nil, cleanup, err
	}
	// byhash: the indexes are served by their hash only
	named, err := filepath.Glob(filepath.Join(public, "byhash", "dists", "stable", "main", "binary-*", "Packages*"))
	if err != nil || len(named) == 0 {
		return nil, cleanup, fmt.Errorf("no Packages in the byhash publication: %v", err)
	}
	for _, n := range named {
		if err := os.Remove(n); err != nil {
			return nil, cleanup, err
		}
	}
	if err := tamper(filepath.Join(public, "bad", "dists", "stable", "main")); err != nil {
		return nil, cleanup, err
	}
	if err := crafts(public, env); err != nil {
		return nil, cleanup, err
	}
	port, err := freePort()
	if err != nil {
		return nil, cleanup, err
	}
	ngx := filepath.Join(dir, "ngx")
	if err := os.Mkdir(ngx, 0o755); err != nil {
		return nil, cleanup, err
	}
	cfg := fmt.Sprintf(`daemon off; user root; worker_processes 1; error_log %[1]s/err.log; pid %[1]s/nginx.pid;
events { worker_connections 64; }
http { access_log %[1]s/access.log; client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen 127.0.0.1:%[2]d; root %[3]s; } }
`, ngx, port, public)
	if err := os.WriteFile(filepath.Join(ngx, "nginx.conf"), []byte(cfg), 0o644); err != nil {
		return nil, cleanup, err
	}
	nginx = exec.Command("nginx", "-e", filepath.Join(ngx, "err.log"), "-c", filepath.Join(ngx, "nginx.conf"), "-p", ngx)
	if err := nginx.Start(); err != nil {
		return nil, cleanup, err
	}
	a.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return nil, cleanup, fmt.Errorf("nginx did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return a, cleanup, nil
}

// build makes the .deb of s with dpkg-deb.
func (a *archive) build(s pkgSpec) error {
	ctl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: pkgvc test <test@example.invalid>\n%sDescription: test package %s\n Built by the deb upstream tests.\n",
		s.name, s.version, s.arch, s.fields, s.name)
	out := filepath.Join(a.dir, "debs", debName(s))
	if err := debtest.DpkgDeb(out, ctl, map[string]string{"usr/share/doc/" + s.name + "/README": s.name + " " + s.version + "\n"}); err != nil {
		return err
	}
	b, err := os.ReadFile(out)
	a.debs[debName(s)] = b
	return err
}

// tamper rewrites every Packages index under dir with other bytes of the
// same size, leaving the signed Release as it is.
func tamper(dir string) error {
	idx, err := filepath.Glob(filepath.Join(dir, "binary-*", "Packages"))
	if err != nil || len(idx) == 0 {
		return fmt.Errorf("no Packages to tamper with under %s: %v", dir, err)
	}
	for _, p := range idx {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		t := strings.ReplaceAll(string(b), "Built by the deb upstream tests.", "Built by the bad upstream tests.")
		if t == string(b) || len(t) != len(b) {
			return fmt.Errorf("tamper of %s did nothing: %q", p, b)
		}
		if err := os.WriteFile(p, []byte(t), 0o644); err != nil {
			return err
		}
		for ext, c := range map[string][]string{".gz": {"gzip", "-9nkf"}, ".bz2": {"bzip2", "-kf"}, ".xz": {"xz", "-kf"}} {
			if _, err := os.Stat(p + ext); err == nil {
				if err := run(nil, c[0], append(c[1:], p)...); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// craftedPackages is a Packages index whose stanza lacks its SHA256.
const craftedPackages = `Package: no-sum
Version: 1.0
Architecture: all
Filename: pool/main/n/no-sum/no-sum_1.0_all.deb
Size: 10
MD5sum: 0123456789abcdef0123456789abcdef
Description: a stanza without SHA256
`

// craft writes a suite under prefix, its Release (signed) listing files
// (paths under dists/stable/) and its pool that of the good publication.
func craft(public, prefix string, files map[string][]byte, env []string) error {
	dists := filepath.Join(public, prefix, "dists", "stable")
	var sums strings.Builder
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dists, p)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dists, p), files[p], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&sums, " %x %d %s\n", sha256.Sum256(files[p]), len(files[p]), p)
	}
	rel := "Suite: stable\nCodename: stable\nComponents: main\nArchitectures: all\nSHA256:\n" + sums.String()
	if err := os.WriteFile(filepath.Join(dists, "Release"), []byte(rel), 0o644); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(public, "good", "pool"), filepath.Join(public, prefix, "pool")); err != nil {
		return err
	}
	return run(env, "gpg", "--batch", "--local-user", "up@example.invalid", "--digest-algo", "SHA256", "--clearsign",
		"--output", filepath.Join(dists, "InRelease"), filepath.Join(dists, "Release"))
}

// crafts writes the hand-made suites: a stanza without its hash,
// indexes only in bzip2 or only plain, and an .xz listed with others
// (whose bytes would not parse).
func crafts(public string, env []string) error {
	good, err := os.ReadFile(filepath.Join(public, "good", "dists", "stable", "main", "binary-all", "Packages"))
	if err != nil {
		return err
	}
	compress := func(tool string) ([]byte, error) {
		var out bytes.Buffer
		cmd := exec.Command(tool, "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(good), &out
		err := cmd.Run()
		return out.Bytes(), err
	}
	bz, err := compress("bzip2")
	if err != nil {
		return err
	}
	xzd, err := compress("xz")
	if err != nil {
		return err
	}
	// hello-a's stanza with hello-b 2.0's SHA256: the .deb cannot verify
	badSum, err := swapSHA256(good, "hello-a", "hello-b")
	if err != nil {
		return err
	}
	const idx = "main/binary-all/Packages"
	for prefix, files := range map[string]map[string][]byte{
		"crafted":   {idx: []byte(craftedPackages)},
		"bz2only":   {idx + ".bz2": bz},
		"xzfirst":   {idx + ".xz": xzd, idx + ".gz": []byte("not read: .xz comes first"), idx: []byte("not read either")},
		"plainonly": {idx: good},
		"badsum":    {idx: badSum},
		"allonly":   {idx: good, "main/binary-amd64/Packages": nil}, // Architecture: all packages in binary-all only
	} {
		if err := craft(public, prefix, files, env); err != nil {
			return err
		}
	}
	return nil
}

// swapSHA256 gives package a's stanza the SHA256 of b's first one.
func swapSHA256(packages []byte, a, b string) ([]byte, error) {
	stanzas := strings.Split(string(packages), "\n\n")
	sumOf := func(name string) (int, string) {
		for i, st := range stanzas {
			if strings.HasPrefix(st, "Package: "+name+"\n") {
				for _, l := range strings.Split(st, "\n") {
					if v, ok := strings.CutPrefix(l, "SHA256: "); ok {
						return i, v
					}
				}
			}
		}
		return -1, ""
	}
	ia, sa := sumOf(a)
	_, sb := sumOf(b)
	if ia < 0 || sa == "" || sb == "" {
		return nil, fmt.Errorf("no SHA256 of %s or %s in the Packages", a, b)
	}
	stanzas[ia] = strings.Replace(stanzas[ia], sa, sb, 1)
	return []byte(strings.Join(stanzas, "\n\n")), nil
}
