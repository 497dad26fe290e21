package checkout_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/file/pulpmanifest"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// fixture is a store on disk (so raw blobs can be hard-linked), its
// distributions and a scratch directory.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *repo.Store
	dists *dist.Dists
	src   string
	out   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := fsstore.OpenDir(context.Background(), filepath.Join(dir, "store"), all.Kinds(), repo.WithWho("tester@example"))
	require.NoError(t, err)
	out := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(out, 0o755))
	return &fixture{t: t, ctx: context.Background(), st: st, dists: dist.NewDists(st), src: t.TempDir(), out: out}
}

func (f *fixture) createRepo(name string, o repo.CreateOptions) {
	f.t.Helper()
	_, err := f.st.CreateRepo(f.ctx, name, o)
	require.NoError(f.t, err)
}

// commit adds path→content files and removes paths in one version.
func (f *fixture) commit(repoName string, files map[string][]byte, removes ...string) *repo.Version {
	f.t.Helper()
	req := repo.CommitRequest{Removes: removes, Message: "test"}
	for p, content := range files {
		tmp, err := os.CreateTemp(f.src, "f-*")
		require.NoError(f.t, err)
		_, err = tmp.Write(content)
		require.NoError(f.t, err)
		require.NoError(f.t, tmp.Close())
		req.Adds = append(req.Adds, repo.Add{Path: p, File: tmp.Name()})
	}
	_, err := f.st.Commit(f.ctx, repoName, req)
	require.NoError(f.t, err)
	v, err := f.st.Resolve(f.ctx, repoName)
	require.NoError(f.t, err)
	return v
}

func (f *fixture) createDist(name, basePath, repoName string) {
	f.t.Helper()
	_, err := f.dists.Create(f.ctx, name, dist.DistSpec{BasePath: basePath, Repo: repoName})
	require.NoError(f.t, err)
}

func (f *fixture) checkout(dist, dir string) *checkout.Result {
	f.t.Helper()
	res, err := checkout.Dist(f.ctx, f.dists, dist, dir, checkout.Options{Publishers: all.Publishers()})
	require.NoError(f.t, err)
	return res
}

// storeBytes reads the content of every record of rev from the store.
func (f *fixture) storeBytes(rev string) map[string][]byte {
	f.t.Helper()
	recs, err := f.st.List(f.ctx, rev)
	require.NoError(f.t, err)
	out := map[string][]byte{}
	for _, r := range recs {
		rc, _, err := f.st.Cat(f.ctx, rev, r.Path)
		require.NoError(f.t, err)
		data, err := io.ReadAll(rc)
		require.NoError(f.t, err)
		require.NoError(f.t, rc.Close())
		out[r.Path] = data
	}
	return out
}

// manifest is the PULP_MANIFEST expected for rev.
func (f *fixture) manifest(rev string) []byte {
	f.t.Helper()
	recs, err := f.st.List(f.ctx, rev)
	require.NoError(f.t, err)
	var b bytes.Buffer
	entries := make([]pulpmanifest.Entry, len(recs))
	for i, r := range recs {
		entries[i] = pulpmanifest.Entry{Path: r.Path, SHA256: r.SHA256, Size: r.Size}
	}
	require.NoError(f.t, pulpmanifest.Write(&b, entries))
	return b.Bytes()
}

// readTree reads every file under dir (following dir itself if a link).
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	root, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		require.True(t, d.Type().IsRegular(), "%s is not a regular file", p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	}))
	return out
}

// requireServes checks that dir holds exactly rev's files and its manifest.
func (f *fixture) requireServes(dir, rev string) {
	f.t.Helper()
	want := f.storeBytes(rev)
	want["PULP_MANIFEST"] = f.manifest(rev)
	got := readTree(f.t, dir)
	require.Equal(f.t, sortedKeys(want), sortedKeys(got))
	for p := range want {
		require.True(f.t, bytes.Equal(want[p], got[p]), "%s differs", p)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// textBytes is compressible, so the store keeps it compressed.
func textBytes(seed string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s line %d: the quick brown fox jumps over the lazy dog\n", seed, i)
	}
	return b.Bytes()[:n]
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestCheckoutFirst(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	files := map[string][]byte{
		"raw.bin":             randomBytes(100 << 10),
		"docs/readme.txt":     textBytes("readme", 200<<10),
		"deep/a/b/c/leaf.bin": randomBytes(10),
		"empty.txt":           {},
		"with,comma.txt":      []byte("comma"),
	}
	f.commit("r", files)
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")

	res := f.checkout("d", dir)
	require.False(t, res.UpToDate)
	require.Equal(t, len(files)+1, res.Written, "every file and PULP_MANIFEST")
	require.Equal(t, 0, res.Removed)
	require.Equal(t, len(files)+1, res.Standby, "the standby tree is filled by links")
	require.Equal(t, "d", res.Dist)
	require.Equal(t, filepath.Join(f.out, "d.pkgvc", "a"), res.Tree)

	fi, err := os.Lstat(dir)
	require.NoError(t, err)
	require.True(t, fi.Mode()&fs.ModeSymlink != 0, "the checkout is a symbolic link")
	target, err := os.Readlink(dir)
	require.NoError(t, err)
	require.Equal(t, "d.pkgvc/a", target, "relative, so the parent can move")
	f.requireServes(dir, "r")
	manifest, err := os.ReadFile(filepath.Join(dir, "PULP_MANIFEST"))
	require.NoError(t, err)
	require.Contains(t, string(manifest), "\n\"with,comma.txt\","+fmt.Sprintf("%x", sha256.Sum256([]byte("comma")))+",5\n")
	require.True(t, strings.HasPrefix(string(manifest), "deep/a/b/c/leaf.bin,"))

	// Nothing of pkgvc's own is served.
	for _, p := range []string{"state.json", "lock", "tmp"} {
		_, err := os.Stat(filepath.Join(dir, p))
		require.ErrorIs(t, err, fs.ErrNotExist)
	}

	again := f.checkout("d", dir)
	require.True(t, again.UpToDate)
	require.Equal(t, 0, again.Written)

	// A quoted manifest line makes the incremental manifest give way to a
	// full one; the result is the same.
	f.commit("r", map[string][]byte{"more,commas.txt": []byte("more")}, "raw.bin")
	f.checkout("d", dir)
	f.requireServes(dir, "r")
}

func TestCheckoutHardLinksAndCopies(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	raw, text := randomBytes(300<<10), textBytes("text", 300<<10)
	f.commit("r", map[string][]byte{"raw.bin": raw, "text.txt": text})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	res := f.checkout("d", dir)

	rec, err := f.st.Stat(f.ctx, "r", "raw.bin")
	require.NoError(t, err)
	blob, ok := f.st.Objects().BlobPath(rec.SHA256)
	require.True(t, ok, "random bytes are stored raw")
	inStore, err := os.Stat(blob)
	require.NoError(t, err)
	served, err := os.Stat(filepath.Join(dir, "raw.bin"))
	require.NoError(t, err)
	require.False(t, os.SameFile(inStore, served), "a raw blob is cloned or copied, not hard-linked")
	require.Zero(t, res.Linked)
	require.Equal(t, fs.FileMode(0o444), served.Mode().Perm(), "read-only")
	_, err = os.OpenFile(filepath.Join(dir, "raw.bin"), os.O_WRONLY, 0)
	if os.Geteuid() != 0 {
		require.ErrorIs(t, err, fs.ErrPermission)
	}

	// Writing into a checked-out file, as root can whatever its mode,
	// leaves the store as it was.
	require.NoError(t, os.Chmod(filepath.Join(dir, "raw.bin"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "raw.bin"), []byte("overwritten"), 0o644))
	_, err = f.st.Fsck(f.ctx)
	require.NoError(t, err, "the store's blob is intact")
	require.Equal(t, raw, f.storeBytes("r")["raw.bin"])

	// --link hard-links raw blobs, with the risk it documents.
	linked := filepath.Join(f.out, "linked")
	res, err = checkout.Dist(f.ctx, f.dists, "d", linked, checkout.Options{Publishers: all.Publishers(), Link: true})
	require.NoError(t, err)
	require.Equal(t, 1, res.Linked, "raw.bin")
	served, err = os.Stat(filepath.Join(linked, "raw.bin"))
	require.NoError(t, err)
	require.True(t, os.SameFile(inStore, served), "with Link a raw blob is hard-linked")
	require.GreaterOrEqual(t, served.Sys().(*syscall.Stat_t).Nlink, uint64(3), "store, tree a and tree b")

	trec, err := f.st.Stat(f.ctx, "r", "text.txt")
	require.NoError(t, err)
	stat, err := f.st.Objects().StatBlob(f.ctx, trec.SHA256)
	require.NoError(t, err)
	require.True(t, stat.Compressed, "text is stored compressed")
	got, err := os.ReadFile(filepath.Join(dir, "text.txt"))
	require.NoError(t, err)
	require.Equal(t, text, got, "a compressed blob is decompressed")
	tfi, err := os.Stat(filepath.Join(dir, "text.txt"))
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o444), tfi.Mode().Perm())
	got, err = os.ReadFile(filepath.Join(linked, "raw.bin"))
	require.NoError(t, err)
	require.Equal(t, raw, got)
}

func TestCheckoutIncremental(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	files := map[string][]byte{}
	for i := range 40 {
		files[fmt.Sprintf("dir%d/file%02d.txt", i%4, i)] = textBytes(fmt.Sprint(i), 8<<10)
	}
	files["gone/deep/x.txt"] = []byte("removed later")
	f.commit("r", files)
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	first := f.checkout("d", dir)
	require.Equal(t, 42, first.Written)
	inodes := map[string]uint64{}
	for p := range files {
		inodes[p] = inode(t, filepath.Join(dir, p))
	}

	// v2: one changed, one added, one removed.
	f.commit("r", map[string][]byte{"dir0/file00.txt": textBytes("changed", 8<<10), "new/added.txt": []byte("added")}, "gone/deep/x.txt")
	res := f.checkout("d", dir)
	require.Equal(t, 3, res.Written, "the changed file, the added one, PULP_MANIFEST")
	require.Equal(t, 1, res.Removed)
	require.Equal(t, filepath.Join(f.out, "d.pkgvc", "b"), res.Tree)
	f.requireServes(dir, "r")
	_, err := os.Stat(filepath.Join(dir, "gone"))
	require.ErrorIs(t, err, fs.ErrNotExist, "emptied directories are pruned")
	for p, ino := range inodes {
		if p == "dir0/file00.txt" || p == "gone/deep/x.txt" {
			continue
		}
		require.Equal(t, ino, inode(t, filepath.Join(dir, p)), "%s was rewritten", p)
	}
	require.NotEqual(t, inodes["dir0/file00.txt"], inode(t, filepath.Join(dir, "dir0/file00.txt")))

	// v3 changes another file: tree a catches up on v2's change too, by a
	// link from tree b.
	f.commit("r", map[string][]byte{"dir1/file01.txt": textBytes("changed too", 8<<10)})
	res = f.checkout("d", dir)
	require.Equal(t, 4, res.Written, "v2's two files (linked), v3's one, PULP_MANIFEST")
	require.Equal(t, 1, res.Removed)
	require.Equal(t, 2, res.Linked)
	f.requireServes(dir, "r")
	for p, ino := range inodes {
		if strings.HasPrefix(p, "dir0/file00") || strings.HasPrefix(p, "dir1/file01") || strings.HasPrefix(p, "gone/") {
			continue
		}
		require.Equal(t, ino, inode(t, filepath.Join(dir, p)), "%s was rewritten", p)
	}

	// A pinned distribution checks out its version, whatever comes next.
	v1, err := f.st.Resolve(f.ctx, "r@1")
	require.NoError(t, err)
	_, err = f.dists.Create(f.ctx, "old", dist.DistSpec{BasePath: "old", Version: "r@1"})
	require.NoError(t, err)
	f.checkout("old", filepath.Join(f.out, "old"))
	f.requireServes(filepath.Join(f.out, "old"), v1.ID.String())
}

func TestCheckoutFileBecomesDirectory(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	f.commit("r", map[string][]byte{"x": []byte("a file"), "y/z": []byte("in a directory")})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	f.checkout("d", dir)
	for i := range 3 { // each tree sees both moves
		f.commit("r", map[string][]byte{"x/inner": []byte(fmt.Sprint("now a directory ", i)), "y": []byte("now a file")}, "x", "y/z")
		f.checkout("d", dir)
		f.requireServes(dir, "r")
		f.commit("r", map[string][]byte{"x": []byte(fmt.Sprint("a file again ", i)), "y/z": []byte("back")}, "x/inner", "y")
		f.checkout("d", dir)
		f.requireServes(dir, "r")
	}
}

// TestCheckoutAtomic reads a file through the checkout while many
// checkouts replace it: every read sees one version's complete content.
func TestCheckoutAtomic(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	content := func(i int) []byte { return textBytes(fmt.Sprintf("version %03d", i), 256<<10) }
	f.commit("r", map[string][]byte{"hot.txt": content(0), "stable.bin": randomBytes(64 << 10)})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	f.checkout("d", dir)

	valid := map[[32]byte]bool{sha256.Sum256(content(0)): true}
	var mu sync.Mutex
	const rounds = 40
	for i := 1; i <= rounds; i++ {
		valid[sha256.Sum256(content(i))] = true
	}
	stop := make(chan struct{})
	var reads, bad atomic.Int64
	var firstBad atomic.Value
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				data, err := os.ReadFile(filepath.Join(dir, "hot.txt"))
				_, serr := os.Stat(filepath.Join(dir, "stable.bin"))
				reads.Add(1)
				mu.Lock()
				ok := err == nil && serr == nil && valid[sha256.Sum256(data)]
				mu.Unlock()
				if !ok {
					bad.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("read error %v / %v, %d bytes", err, serr, len(data)))
				}
			}
		}()
	}
	for i := 1; i <= rounds; i++ {
		files := map[string][]byte{"hot.txt": content(i), fmt.Sprintf("extra/%d.txt", i): []byte("x")}
		var removes []string
		if i > 1 {
			removes = []string{fmt.Sprintf("extra/%d.txt", i-1)}
		}
		f.commit("r", files, removes...)
		f.checkout("d", dir)
	}
	close(stop)
	wg.Wait()
	require.Zero(t, bad.Load(), "of %d reads; first: %v", reads.Load(), firstBad.Load())
	require.Greater(t, reads.Load(), int64(rounds))
	f.requireServes(dir, "r")
}

func TestCheckoutRefusesForeignDir(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	f.commit("r", map[string][]byte{"a.txt": []byte("a")})
	f.createDist("d", "d", "r")
	opts := checkout.Options{Publishers: all.Publishers()}

	full := filepath.Join(f.out, "full")
	require.NoError(t, os.MkdirAll(full, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "index.html"), []byte("mine"), 0o644))
	file := filepath.Join(f.out, "file")
	require.NoError(t, os.WriteFile(file, []byte("mine"), 0o644))
	link := filepath.Join(f.out, "link")
	require.NoError(t, os.Symlink(full, link))
	for _, dir := range []string{full, file, link} {
		_, err := checkout.Dist(f.ctx, f.dists, "d", dir, opts)
		require.ErrorIs(t, err, checkout.ErrNotCheckout, dir)
		_, err = os.Stat(dir + ".pkgvc")
		require.ErrorIs(t, err, fs.ErrNotExist, "nothing made beside a refused dir")
	}
	data, err := os.ReadFile(filepath.Join(full, "index.html"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(data))

	// A sibling "DIR.pkgvc" that is not ours is refused too.
	clash := filepath.Join(f.out, "clash")
	require.NoError(t, os.MkdirAll(clash+".pkgvc", 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(clash+".pkgvc", "x"), nil, 0o644))
	_, err = checkout.Dist(f.ctx, f.dists, "d", clash, opts)
	require.ErrorIs(t, err, checkout.ErrNotCheckout)

	// An empty directory is taken over; so is a missing parent.
	empty := filepath.Join(f.out, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	f.checkout("d", empty)
	f.requireServes(empty, "r")
	nested := filepath.Join(f.out, "new", "parent", "d")
	f.checkout("d", nested)
	f.requireServes(nested, "r")

	_, err = checkout.Dist(f.ctx, f.dists, "nope", filepath.Join(f.out, "nope"), opts)
	require.ErrorIs(t, err, dist.ErrDistNotFound)
	f.createRepo("empty", repo.CreateOptions{})
	f.createDist("e", "e", "empty")
	_, err = checkout.Dist(f.ctx, f.dists, "e", filepath.Join(f.out, "e"), opts)
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
}

// onDemand commits a record whose blob is not in the store.
func (f *fixture) onDemand(repoName, path string, content []byte) repo.Record {
	f.t.Helper()
	rec := repo.Record{Path: path, SHA256: objects.Sum(content), Size: int64(len(content)),
		Metadata: map[string]string{repo.MetaRemote: "up", repo.MetaURL: "http://upstream.invalid/" + path}}
	_, err := f.st.Commit(f.ctx, repoName, repo.CommitRequest{Records: []repo.Record{rec}})
	require.NoError(f.t, err)
	return rec
}

func (f *fixture) putBlob(content []byte) {
	f.t.Helper()
	b := f.st.Objects().NewBatch()
	_, err := b.PutBlob(f.ctx, bytes.NewReader(content))
	require.NoError(f.t, err)
	require.NoError(f.t, b.Flush(f.ctx))
}

func TestCheckoutOnDemand(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	f.commit("r", map[string][]byte{"here.txt": []byte("here")})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	f.checkout("d", dir)

	f.commit("r", map[string][]byte{"partial/written.txt": []byte("written before the failure")})
	lazy := []byte("fetched on demand")
	f.onDemand("r", "lazy/pkg.bin", lazy)

	_, err := checkout.Dist(f.ctx, f.dists, "d", dir, checkout.Options{Publishers: all.Publishers()})
	require.ErrorIs(t, err, objects.ErrNotFound)
	require.ErrorContains(t, err, "lazy/pkg.bin")
	require.ErrorContains(t, err, "http://upstream.invalid/lazy/pkg.bin")
	f.requireServes(dir, "r~2") // the served tree is untouched

	failing := checkout.Options{Publishers: all.Publishers(), Fetch: func(context.Context, repo.Record) error {
		return errors.New("upstream down")
	}}
	_, err = checkout.Dist(f.ctx, f.dists, "d", dir, failing)
	require.ErrorContains(t, err, "upstream down")

	// The interrupted tree is finished by a later checkout, even of a
	// version that no longer has what the failed ones wrote.
	f.commit("r", nil, "partial/written.txt")
	var calls atomic.Int64
	fetch := checkout.Options{Publishers: all.Publishers(), Fetch: func(_ context.Context, r repo.Record) error {
		calls.Add(1)
		require.Equal(t, "lazy/pkg.bin", r.Path)
		f.putBlob(lazy)
		return nil
	}}
	res, err := checkout.Dist(f.ctx, f.dists, "d", dir, fetch)
	require.NoError(t, err)
	require.Equal(t, 1, res.Fetched)
	require.EqualValues(t, 1, calls.Load())
	f.requireServes(dir, "r")
	_, err = os.Stat(filepath.Join(dir, "partial"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	// And the other tree, which held the failed attempts, catches up too.
	f.commit("r", map[string][]byte{"last.txt": []byte("last")})
	f.checkout("d", dir)
	f.requireServes(dir, "r")
}

func TestCheckoutSurvivesGC(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{Retain: 1})
	f.commit("r", map[string][]byte{"old.bin": randomBytes(1000)})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	f.checkout("d", dir)
	f.commit("r", map[string][]byte{"new.bin": randomBytes(1000)}, "old.bin")
	f.commit("r", map[string][]byte{"newer.bin": randomBytes(1000)})
	_, err := f.st.GC(f.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	// The standby tree's version is gone from the store: it is rebuilt.
	f.checkout("d", dir)
	f.requireServes(dir, "r")
	f.commit("r", map[string][]byte{"newest.bin": randomBytes(1000)})
	f.checkout("d", dir)
	f.requireServes(dir, "r")
}

func TestCheckoutConcurrent(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	f.commit("r", map[string][]byte{"a.txt": []byte("a")})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := checkout.Dist(f.ctx, f.dists, "d", dir, checkout.Options{Publishers: all.Publishers()})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	f.requireServes(dir, "r")
}

// TestCheckoutServedByNginx serves a checkout with a real nginx and
// compares what it sends with the store.
func TestCheckoutServedByNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed (apt-get install nginx): skipping the real web server check")
	}
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	files := map[string][]byte{"raw.bin": randomBytes(200 << 10), "docs/text.txt": textBytes("nginx", 100<<10), "empty": {}}
	f.commit("r", files)
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	f.checkout("d", dir)
	for _, p := range []string{filepath.Dir(f.out), f.out} {
		require.NoError(t, os.Chmod(p, 0o755)) // let a non-root worker in
	}

	port := freePort(t)
	ngx := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(ngx, "logs"), 0o755))
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`daemon off; %s worker_processes 1; error_log %[2]s/error.log; pid %[2]s/nginx.pid;
events { worker_connections 64; }
http { access_log off; client_body_temp_path %[2]s; proxy_temp_path %[2]s; fastcgi_temp_path %[2]s; uwsgi_temp_path %[2]s; scgi_temp_path %[2]s;
  server { listen 127.0.0.1:%[3]d; location /content/d/ { alias %[4]s/; } } }
`, user, ngx, port, dir)
	require.NoError(t, os.WriteFile(filepath.Join(ngx, "nginx.conf"), []byte(conf), 0o644))
	cmd := exec.Command(bin, "-c", filepath.Join(ngx, "nginx.conf"), "-p", ngx)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Its own process group, so that stopping it stops its workers too
	// (killing only the master would leave them running, holding our pipe).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d/content/d/", port)
	waitHTTP(t, base+"PULP_MANIFEST", &stderr)

	get := func(p string) []byte {
		resp, err := http.Get(base + p)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return data
	}
	check := func() {
		want := f.storeBytes("r")
		for p, data := range want {
			require.True(t, bytes.Equal(data, get(p)), "nginx serves other bytes for %s", p)
		}
		require.Equal(t, f.manifest("r"), get("PULP_MANIFEST"))
	}
	check()
	f.commit("r", map[string][]byte{"docs/text.txt": textBytes("changed", 50<<10), "added.bin": randomBytes(10)}, "raw.bin")
	f.checkout("d", dir)
	check()
	resp, err := http.Get(base + "raw.bin")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "a removed file is gone")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(t *testing.T, url string, stderr *bytes.Buffer) {
	t.Helper()
	for range 100 {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not answer at %s: %s", url, stderr.String())
}

// TestCheckoutRepairsState: a lost, damaged or stale state file costs a
// rebuild, never a wrong tree.
func TestCheckoutRepairsState(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{})
	f.commit("r", map[string][]byte{"a.txt": []byte("a"), "sub/b.bin": randomBytes(100)})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	f.checkout("d", dir)
	statePath := filepath.Join(dir+".pkgvc", "state.json")
	editState := func(edit func(map[string]any)) {
		data, err := os.ReadFile(statePath)
		require.NoError(t, err)
		var st map[string]any
		require.NoError(t, json.Unmarshal(data, &st))
		edit(st["slots"].(map[string]any))
		data, err = json.Marshal(st)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(statePath, data, 0o644))
	}

	// The standby tree's state is lost: an up-to-date checkout refills it.
	editState(func(slots map[string]any) { delete(slots, "b") })
	res := f.checkout("d", dir)
	require.True(t, res.UpToDate)
	require.Equal(t, 3, res.Standby)

	// It names a tree the store no longer has: rebuilt from scratch.
	editState(func(slots map[string]any) {
		slots["b"].(map[string]any)["tree"] = objects.Sum([]byte("collected")).String()
	})
	f.commit("r", map[string][]byte{"c.txt": []byte("c")}, "a.txt")
	res = f.checkout("d", dir)
	require.Equal(t, 3, res.Written, "every file of the rebuilt tree")
	f.requireServes(dir, "r")

	// Garbage: both trees are rebuilt, and leftovers in tmp go.
	require.NoError(t, os.WriteFile(statePath, []byte("{not json"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir+".pkgvc", "tmp", "leftover"), []byte("x"), 0o644))
	f.commit("r", map[string][]byte{"d.txt": []byte("d")})
	res = f.checkout("d", dir)
	require.Equal(t, 4, res.Written)
	require.Equal(t, 4, res.Standby)
	f.requireServes(dir, "r")
	_, err := os.Stat(filepath.Join(dir+".pkgvc", "tmp", "leftover"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	f.commit("r", map[string][]byte{"e.txt": []byte("e")}, "c.txt")
	res = f.checkout("d", dir)
	require.Equal(t, 2, res.Written, "incremental again")
	f.requireServes(dir, "r")
}

// TestCheckoutStoredPublication: with Publications, a checkout writes the
// stored publication (the one the content server serves), storing it
// first if need be, updated from the last one's for the next version.
func TestCheckoutStoredPublication(t *testing.T) {
	f := newFixture(t)
	f.createRepo("r", repo.CreateOptions{Kind: "file"})
	f.commit("r", map[string][]byte{"a.txt": []byte("a"), "b/c.txt": []byte("c")})
	f.createDist("d", "d", "r")
	dir := filepath.Join(f.out, "d")
	pubs := publish.NewPublications(f.st, all.Publishers(), 4)
	var incremental []bool
	pubs.Built = func(_ string, _ objects.ID, inc bool, _ int) { incremental = append(incremental, inc) }
	for i, files := range []map[string][]byte{nil, {"e.txt": []byte("e")}} {
		if files != nil {
			f.commit("r", files)
		}
		_, err := checkout.Dist(f.ctx, f.dists, "d", dir, checkout.Options{Publications: pubs})
		require.NoError(t, err)
		pubs.Wait()
		v, err := f.st.Resolve(f.ctx, "r")
		require.NoError(t, err)
		pub, ok, err := pubs.Stored(f.ctx, "file", v.ID)
		require.NoError(t, err)
		require.True(t, ok, "checkout %d stored the publication", i)
		want, _, err := pub.ReadFile(f.ctx, "PULP_MANIFEST")
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, "PULP_MANIFEST"))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		f.requireServes(dir, "r")
	}
	require.Equal(t, []bool{false, true}, incremental)
}
