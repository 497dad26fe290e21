package repo_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// rtClock is a test clock that follows the wall clock plus an offset the
// test can move forward. The object and ref backends stamp files and reflog
// entries with the wall clock, so a clock frozen in the past would make gc
// and retention see everything as "in the future".
type rtClock struct{ off atomic.Int64 }

func (c *rtClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *rtClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// rtEnv is one store under test plus a scratch directory for source files.
type rtEnv struct {
	t     *testing.T
	ctx   context.Context
	s     *repo.Store
	dir   string // store directory; "" for an in-memory store
	src   string // scratch directory for files to add
	clock *rtClock
}

const rtWho = "tester@example"

// newFSEnv opens a store in a fresh directory.
func newFSEnv(t *testing.T, opts ...repo.Option) *rtEnv {
	t.Helper()
	ctx := context.Background()
	c := &rtClock{}
	dir := filepath.Join(t.TempDir(), "store")
	s, err := fsstore.OpenDir(ctx, dir, all.Kinds(), append([]repo.Option{repo.WithClock(c.Now), repo.WithWho(rtWho)}, opts...)...)
	require.NoError(t, err)
	return &rtEnv{t: t, ctx: ctx, s: s, dir: dir, src: t.TempDir(), clock: c}
}

// newMemEnv builds a store over the in-memory backends.
func newMemEnv(t *testing.T, opts ...repo.Option) *rtEnv {
	t.Helper()
	c := &rtClock{}
	s := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(),
		append([]repo.Option{repo.WithMeta(metamem.New()), repo.WithClock(c.Now), repo.WithWho(rtWho)}, opts...)...)
	return &rtEnv{t: t, ctx: context.Background(), s: s, src: t.TempDir(), clock: c}
}

func (e *rtEnv) create(name string, o repo.CreateOptions) {
	e.t.Helper()
	_, err := e.s.CreateRepo(e.ctx, name, o)
	require.NoError(e.t, err)
}

// file writes content to a new scratch file and returns its path.
func (e *rtEnv) file(content string) string {
	e.t.Helper()
	f, err := os.CreateTemp(e.src, "f-*")
	require.NoError(e.t, err)
	_, err = f.WriteString(content)
	require.NoError(e.t, err)
	require.NoError(e.t, f.Close())
	return f.Name()
}

// adds turns path→content into Adds from scratch files, sorted by path.
func (e *rtEnv) adds(files map[string]string) []repo.Add {
	e.t.Helper()
	var out []repo.Add
	for p, c := range files {
		out = append(out, repo.Add{Path: p, File: e.file(c), Size: int64(len(c))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// commit adds files and removes paths in one new version.
func (e *rtEnv) commit(name string, files map[string]string, removes ...string) *repo.CommitResult {
	e.t.Helper()
	res, err := e.s.Commit(e.ctx, name, repo.CommitRequest{Adds: e.adds(files), Removes: removes})
	require.NoError(e.t, err)
	return res
}

func (e *rtEnv) resolve(rev string) *repo.Version {
	e.t.Helper()
	v, err := e.s.Resolve(e.ctx, rev)
	require.NoError(e.t, err, rev)
	return v
}

// head returns a repository's head id, zero if it has none.
func (e *rtEnv) head(name string) objects.ID {
	e.t.Helper()
	info, err := e.s.ShowRepo(e.ctx, name)
	require.NoError(e.t, err)
	if info.Head == nil {
		return objects.ID{}
	}
	return info.Head.ID
}

func (e *rtEnv) paths(rev string) []string {
	e.t.Helper()
	recs, err := e.s.List(e.ctx, rev)
	require.NoError(e.t, err)
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Path)
	}
	return out
}

// contents reads every package of rev through Cat.
func (e *rtEnv) contents(rev string) map[string]string {
	e.t.Helper()
	recs, err := e.s.List(e.ctx, rev)
	require.NoError(e.t, err)
	out := map[string]string{}
	for _, r := range recs {
		out[r.Path] = e.cat(rev, r.Path)
	}
	return out
}

func (e *rtEnv) cat(rev, path string) string {
	e.t.Helper()
	rc, rec, err := e.s.Cat(e.ctx, rev, path)
	require.NoError(e.t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(e.t, err)
	require.Equal(e.t, rec.Size, int64(len(data)))
	return string(data)
}

func (e *rtEnv) blob(rev, path string) objects.ID {
	e.t.Helper()
	rec, err := e.s.Stat(e.ctx, rev, path)
	require.NoError(e.t, err)
	return rec.SHA256
}

func (e *rtEnv) hasBlob(id objects.ID) bool {
	e.t.Helper()
	ok, err := e.s.Objects().HasBlob(e.ctx, id)
	require.NoError(e.t, err)
	return ok
}

func (e *rtEnv) reflogLen(name string) int {
	e.t.Helper()
	log, err := e.s.Reflog(e.ctx, name)
	require.NoError(e.t, err)
	return len(log)
}

func (e *rtEnv) fsckClean() {
	e.t.Helper()
	res, err := e.s.Fsck(e.ctx)
	require.NoError(e.t, err)
	require.Empty(e.t, res.Problems)
}

// putBlob stores content as a blob outside of any version.
func (e *rtEnv) putBlob(content string) objects.PutResult {
	e.t.Helper()
	b := e.s.Objects().NewBatch()
	res, err := b.PutBlob(e.ctx, strings.NewReader(content))
	require.NoError(e.t, err)
	require.NoError(e.t, b.Flush(e.ctx))
	return res
}

// storedFile returns the file holding a blob (raw or compressed) or a small
// object in an on-disk store, made writable so a test can damage it.
func (e *rtEnv) storedFile(kind string, id objects.ID) string {
	e.t.Helper()
	require.NotEmpty(e.t, e.dir, "needs an on-disk store")
	h := id.String()
	base := filepath.Join(e.dir, "data", kind, h[:2], h)
	for _, p := range []string{base, base + ".zst"} {
		if _, err := os.Stat(p); err == nil {
			require.NoError(e.t, os.Chmod(p, 0o644))
			return p
		}
	}
	e.t.Fatalf("no stored file for %s %s", kind, h)
	return ""
}

// flipByte inverts one byte of a file.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Less(t, off, int64(len(data)))
	data[off] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// randomText returns n incompressible bytes, so blobs are stored raw.
func randomText(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

func versionNumbers(log []repo.LogEntry) []int {
	out := []int{}
	for _, e := range log {
		out = append(out, e.Number)
	}
	return out
}
