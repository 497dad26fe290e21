package remote_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// env is a store on disk, a repository "mirror" and a remote manager with
// a fast retry backoff.
type env struct {
	t   *testing.T
	ctx context.Context
	st  *repo.Store
	m   *remote.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), remoteall.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "mirror", repo.CreateOptions{})
	require.NoError(t, err)
	m := remote.New(st, remoteall.Syncers(), remote.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	return &env{t: t, ctx: ctx, st: st, m: m}
}

// remote creates remote "up" at url with optional changes.
func (e *env) remote(url string, change ...func(*remote.Remote)) {
	e.t.Helper()
	r := remote.Remote{Name: "up", Kind: "file", URL: url, Retries: 3}
	for _, c := range change {
		c(&r)
	}
	_, err := e.m.Create(e.ctx, r)
	require.NoError(e.t, err)
}

func (e *env) sync(mirror bool) (*remote.SyncResult, error) {
	return e.m.Sync(e.ctx, "up", "mirror", remote.SyncOptions{Mirror: mirror})
}

func (e *env) syncOK(mirror bool) *remote.SyncResult {
	e.t.Helper()
	res, err := e.sync(mirror)
	require.NoError(e.t, err)
	return res
}

// records returns the repository's head records by path (nil: no head).
func (e *env) records() map[string]repo.Record {
	e.t.Helper()
	head, err := e.st.RepoHead(e.ctx, "mirror")
	require.NoError(e.t, err)
	if head.IsZero() {
		return nil
	}
	v, err := e.st.Version(e.ctx, head)
	require.NoError(e.t, err)
	out := map[string]repo.Record{}
	require.NoError(e.t, tree.Walk(e.ctx, e.st.Objects(), v.Tree, func(en tree.Entry) error {
		out[en.Path] = en
		return nil
	}))
	return out
}

func (e *env) head() objects.ID {
	e.t.Helper()
	h, err := e.st.RepoHead(e.ctx, "mirror")
	require.NoError(e.t, err)
	return h
}

func (e *env) hasBlob(data []byte) bool {
	e.t.Helper()
	ok, err := e.st.Objects().HasBlob(e.ctx, objects.Sum(data))
	require.NoError(e.t, err)
	return ok
}

func (e *env) blobCount() int {
	e.t.Helper()
	n := 0
	require.NoError(e.t, e.st.Objects().ListBlobs(e.ctx, func(objects.ID, objects.Info) error { n++; return nil }))
	return n
}

// requireContent checks that the head holds exactly files, with their
// digests and sizes, and that every blob is stored and verifies.
func (e *env) requireContent(files map[string][]byte) {
	e.t.Helper()
	recs := e.records()
	var got, want []string
	for p := range recs {
		got = append(got, p)
	}
	for p := range files {
		want = append(want, p)
	}
	sort.Strings(got)
	sort.Strings(want)
	require.Equal(e.t, want, got)
	for p, data := range files {
		require.Equal(e.t, objects.Sum(data), recs[p].SHA256, p)
		require.Equal(e.t, int64(len(data)), recs[p].Size, p)
		require.NoError(e.t, e.st.Objects().VerifyBlob(e.ctx, recs[p].SHA256), p)
	}
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func manifestOf(files map[string][]byte) string {
	var ps []string
	for p := range files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s,%s,%d\n", p, digest(files[p]), len(files[p]))
	}
	return b.String()
}

// writeTree writes files and their PULP_MANIFEST under dir, replacing
// what was there.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	require.NoError(t, os.RemoveAll(dir))
	for p, data := range files {
		f := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, data, 0o644))
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "PULP_MANIFEST"), []byte(manifestOf(files)), 0o644))
}

func content(seed string, n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		s := sha256.Sum256([]byte(seed + strconv.Itoa(i)))
		b = append(b, s[:]...)
	}
	return b[:n]
}

// fault is how the fault-injecting upstream treats one path.
type fault struct {
	dropAfter  int  // first answer: close the connection after this many body bytes (-1: none)
	dropTimes  int  // how many answers drop (default 1 when dropAfter > 0)
	noRange    bool // ignore Range headers (answer 200 with everything)
	fail       int  // answer the first fail requests with status
	status     int  // 500 unless set
	retryAfter string
	body       []byte // serve these bytes instead of the real ones
	length     int64  // announce this Content-Length (with body)
	chunked    bool   // no Content-Length
	stall      time.Duration
}

// upstream is a fault-injecting HTTP upstream on loopback: a manifest at
// /repo/PULP_MANIFEST and files under /repo/.
type upstream struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	files    map[string][]byte
	manifest string // overrides the generated manifest when set
	faults   map[string]*fault
	requests map[string]int
	ranges   map[string][]string
	hook     func() (done func()) // called around every file request
}

func newUpstream(t *testing.T, files map[string][]byte) *upstream {
	u := &upstream{t: t, files: files, faults: map[string]*fault{}, requests: map[string]int{}, ranges: map[string][]string{}}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) url() string { return u.srv.URL + "/repo/PULP_MANIFEST" }

func (u *upstream) set(fn func(u *upstream)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fn(u)
}

func (u *upstream) count(p string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[p]
}

func (u *upstream) rangesOf(p string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.ranges[p]...)
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, "/repo/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	u.mu.Lock()
	u.requests[p]++
	n := u.requests[p]
	if rg := r.Header.Get("Range"); rg != "" {
		u.ranges[p] = append(u.ranges[p], rg)
	}
	f := u.faults[p]
	if hook := u.hook; hook != nil && p != "PULP_MANIFEST" {
		defer hook()()
	}
	var data []byte
	var found bool
	if p == "PULP_MANIFEST" {
		data, found = []byte(u.manifest), true
		if u.manifest == "" {
			data = []byte(manifestOf(u.files))
		}
	} else {
		data, found = u.files[p]
	}
	u.mu.Unlock()
	if !found {
		http.NotFound(w, r)
		return
	}
	if f == nil {
		http.ServeContent(w, r, p, time.Time{}, strings.NewReader(string(data)))
		return
	}
	if f.stall > 0 && n == 1 {
		time.Sleep(f.stall)
	}
	if n <= f.fail {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(w, "injected failure", cmpOr(f.status, http.StatusInternalServerError))
		return
	}
	drops := f.dropTimes
	if drops == 0 && f.dropAfter != 0 {
		drops = 1
	}
	if f.dropAfter != 0 && n-f.fail <= drops {
		u.drop(w, data, f.dropAfter)
		return
	}
	if f.body != nil {
		data = f.body
		if f.length > 0 {
			w.Header().Set("Content-Length", strconv.FormatInt(f.length, 10))
		} else if !f.chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		}
		_, _ = w.Write(data)
		return
	}
	if f.noRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, p, time.Time{}, strings.NewReader(string(data)))
}

// drop answers 200 with the full length announced and closes the
// connection after n body bytes.
func (u *upstream) drop(w http.ResponseWriter, data []byte, n int) {
	hj, ok := w.(http.Hijacker)
	require.True(u.t, ok)
	conn, buf, err := hj.Hijack()
	require.NoError(u.t, err)
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(data))
	_, _ = buf.Write(data[:min(max(n, 0), len(data))])
	_ = buf.Flush()
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func writeBytes(file string, data []byte) error { return os.WriteFile(file, data, 0o644) }
