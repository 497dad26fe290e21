package publication_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
	"github.com/pkgvc/pkgvc/kinds/deb/publication"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/publish"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// clock is the test store's time, moved on by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a store with the deb repository "deb" and the key "release".
type env struct {
	ctx   context.Context
	st    *repo.Store
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	fsb, err := objectsfs.New(t.TempDir())
	require.NoError(t, err)
	// In the past: apt refuses a Release dated later than now.
	c := &clock{now: time.Now().UTC().Add(-4 * time.Hour).Truncate(time.Second)}
	st := repo.New(objects.New(fsb), refsmem.New(), all.Kinds(), repo.WithClock(c.Now), repo.WithMeta(metamem.New()))
	_, err = st.CreateRepo(ctx, "deb", repo.CreateOptions{Kind: "deb"})
	require.NoError(t, err)
	_, err = keys.New(st.Meta()).Generate(ctx, "release", keys.TypeOpenPGP, keys.AlgoEd25519)
	require.NoError(t, err)
	return &env{ctx: ctx, st: st, clock: c}
}

// debSpec is a package to build.
type debSpec struct {
	name, version, arch, depends, source string
}

// mkdeb builds the .deb of s with dpkg-deb and returns its bytes and
// control paragraph (dpkg-deb -f), as the kind reads them.
func mkdeb(t testing.TB, dir string, s debSpec) (data []byte, control string) {
	t.Helper()
	ctl := "Package: " + s.name + "\nVersion: " + s.version + "\nArchitecture: " + s.arch + "\nMaintainer: pkgvc test <test@example.invalid>\n"
	if s.source != "" {
		ctl += "Source: " + s.source + "\n"
	}
	if s.depends != "" {
		ctl += "Depends: " + s.depends + "\n"
	}
	ctl += "Description: test package " + s.name + "\n Built by the publication tests.\n"
	out := filepath.Join(dir, fmt.Sprintf("%s_%s_%s.deb", s.name, s.version, s.arch))
	require.NoError(t, debtest.DpkgDeb(out, ctl, map[string]string{"usr/share/doc/" + s.name + "/README": s.name + " " + s.version + "\n"}))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	f, err := exec.Command("dpkg-deb", "-f", out).Output()
	require.NoError(t, err)
	return data, strings.TrimRight(string(f), "\n")
}

// record stores data and returns its record at its pool path in comp,
// with the metadata the kind gives a .deb.
func (e *env) record(t testing.TB, comp string, s debSpec, data []byte, control string) repo.Record {
	t.Helper()
	b := e.st.Objects().NewBatch()
	res, err := b.PutBlob(e.ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, b.Flush(e.ctx))
	src := s.source
	if src == "" {
		src = s.name
	}
	m5, s1 := md5.Sum(data), sha1.Sum(data)
	meta := map[string]string{
		deb.MetaControl: control, deb.MetaPackage: s.name, deb.MetaVersion: s.version,
		deb.MetaArchitecture: s.arch, deb.MetaMD5: hex.EncodeToString(m5[:]), deb.MetaSHA1: hex.EncodeToString(s1[:]),
	}
	if s.source != "" {
		meta[deb.MetaSource] = s.source
	}
	return repo.Record{Path: deb.PoolPath(comp, src, s.name, s.version, s.arch), SHA256: res.ID, Size: res.Size, Metadata: meta}
}

// commit makes a version of "deb" adding recs and removing paths.
func (e *env) commit(t testing.TB, recs []repo.Record, removes ...string) *repo.Version {
	t.Helper()
	e.clock.Add(time.Second)
	_, err := e.st.Commit(e.ctx, "deb", repo.CommitRequest{Records: recs, Removes: removes})
	require.NoError(t, err)
	v, err := e.st.Resolve(e.ctx, "deb")
	require.NoError(t, err)
	return v
}

// settings are a distribution's options.
func settings(t testing.TB, s deb.DistSettings) publish.Params {
	t.Helper()
	o, err := options.Encode(s)
	require.NoError(t, err)
	require.NoError(t, deb.Kind{}.CheckDistOptions(o))
	return publish.NewParams(o)
}

var stable = deb.DistSettings{Suite: "stable", Codename: "stable", Components: []string{"main"}, Architectures: []string{"amd64", "all"}, SignKey: "release"}

// built is what Publications reported building.
type built struct {
	incremental bool
	changes     int
}

func tracked(st *repo.Store) (*publish.Publications, *[]built) {
	pubs := publish.NewPublications(st, publish.NewRegistry(publication.Publisher{}), 8)
	var mu sync.Mutex
	var log []built
	pubs.Built = func(_ string, _ objects.ID, inc bool, n int) {
		mu.Lock()
		log = append(log, built{inc, n})
		mu.Unlock()
	}
	return pubs, &log
}

// files reads every file of pub: path -> content.
func files(t testing.TB, ctx context.Context, pub *publish.Publication) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, pub.Walk(ctx, func(f *publish.File) error {
		data, ok, err := pub.ReadFile(ctx, f.Path)
		require.True(t, ok, f.Path)
		out[f.Path] = data
		return err
	}))
	return out
}

// gpgKeyring exports the key "release" as a binary keyring file.
func (e *env) gpgKeyring(t testing.TB, dir string) string {
	t.Helper()
	armored, err := keys.New(e.st.Meta()).Export(e.ctx, "release")
	require.NoError(t, err)
	out := filepath.Join(dir, "key.gpg")
	cmd := exec.Command("gpg", "--dearmor")
	cmd.Env = append(os.Environ(), "GNUPGHOME="+t.TempDir())
	cmd.Stdin = bytes.NewReader(armored)
	bin, err := cmd.Output()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, bin, 0o644))
	return out
}
