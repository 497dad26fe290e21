package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/kinds/file/pulpmanifest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

func TestSyncResumesAfterDrop(t *testing.T) {
	big := content("big", 3<<20)
	files := map[string][]byte{"big.bin": big, "small.bin": []byte("small")}

	t.Run("range", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["big.bin"] = &fault{dropAfter: 1 << 20}
		e.remote(u.url())
		res := e.syncOK(false)
		require.Equal(t, 2, res.Downloaded)
		e.requireContent(files)
		require.Equal(t, 2, u.count("big.bin"))
		require.Equal(t, []string{fmt.Sprintf("bytes=%d-", 1<<20)}, u.rangesOf("big.bin"), "the retry continues where the drop left off")
	})

	t.Run("no range support: restart from 0", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["big.bin"] = &fault{dropAfter: 1<<20 + 17, noRange: true}
		e.remote(u.url())
		e.syncOK(false)
		e.requireContent(files)
		require.Equal(t, 2, u.count("big.bin"))
	})

	t.Run("several drops", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["big.bin"] = &fault{dropAfter: 100 << 10, dropTimes: 3}
		e.remote(u.url())
		e.syncOK(false)
		e.requireContent(files)
		require.Equal(t, 4, u.count("big.bin"))
	})

	t.Run("drop before any byte", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["small.bin"] = &fault{dropAfter: -1, dropTimes: 2} // closed right after the headers
		e.remote(u.url())
		e.syncOK(false)
		e.requireContent(files)
		require.Equal(t, 3, u.count("small.bin"))
	})
}

func TestSyncRetries(t *testing.T) {
	files := map[string][]byte{"a.bin": []byte("aaa"), "b.bin": []byte("bbb")}
	t.Run("500 then 200", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["a.bin"] = &fault{fail: 1}
		u.faults["PULP_MANIFEST"] = &fault{fail: 2, status: http.StatusBadGateway}
		e.remote(u.url())
		e.syncOK(false)
		e.requireContent(files)
		require.Equal(t, 2, u.count("a.bin"))
		require.Equal(t, 3, u.count("PULP_MANIFEST"))
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["b.bin"] = &fault{fail: 1, status: http.StatusTooManyRequests, retryAfter: "0"}
		e.remote(u.url())
		e.syncOK(false)
		e.requireContent(files)
		require.Equal(t, 2, u.count("b.bin"))
	})
	t.Run("retries exhausted", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["a.bin"] = &fault{fail: 100, status: http.StatusServiceUnavailable}
		e.remote(u.url(), func(r *remote.Remote) { r.Retries = 2 })
		_, err := e.sync(false)
		requireFileError(t, err, "a.bin")
		require.Contains(t, err.Error(), "503")
		require.Equal(t, 3, u.count("a.bin"))
		require.True(t, e.head().IsZero())
		require.True(t, e.hasBlob([]byte("bbb")), "the good file is kept")
	})
	t.Run("read timeout", func(t *testing.T) {
		e := newEnv(t)
		u := newUpstream(t, files)
		u.faults["a.bin"] = &fault{stall: 300 * time.Millisecond}
		e.remote(u.url(), func(r *remote.Remote) { r.ReadTimeout = remote.Duration(100 * time.Millisecond) })
		e.syncOK(false)
		e.requireContent(files)
		require.Equal(t, 2, u.count("a.bin"))
	})
}

// requireFileError checks err is a *SyncError naming exactly paths.
func requireFileError(t *testing.T, err error, paths ...string) *remote.SyncError {
	t.Helper()
	var se *remote.SyncError
	require.True(t, errors.As(err, &se), "%T: %v", err, err)
	var got []string
	for _, f := range se.Files {
		got = append(got, f.Path)
	}
	require.Equal(t, paths, got)
	for _, p := range paths {
		require.Contains(t, err.Error(), p)
	}
	return se
}

func TestSyncWrongBytesKeepsGoodBlobs(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{
		"good1.bin": content("good1", 200<<10),
		"good2.bin": []byte("good two"),
		"bad.bin":   content("bad", 70<<10),
	}
	u := newUpstream(t, files)
	wrong := content("tampered", 70<<10)
	u.faults["bad.bin"] = &fault{body: wrong}
	e.remote(u.url())

	res, err := e.sync(false)
	se := requireFileError(t, err, "bad.bin")
	require.ErrorIs(t, err, remote.ErrDigestMismatch)
	require.Equal(t, 2, se.Kept)
	require.NotNil(t, res)
	require.False(t, res.Changed)
	require.Equal(t, 1, res.Failed)
	require.True(t, e.head().IsZero(), "a failed sync makes no version")
	require.True(t, e.hasBlob(files["good1.bin"]), "verified blobs are kept")
	require.True(t, e.hasBlob(files["good2.bin"]))
	require.False(t, e.hasBlob(wrong), "the bad download is not stored")
	require.NoError(t, fsck(e))

	// Upstream fixed: the next sync downloads only the file that failed.
	u.set(func(u *upstream) { delete(u.faults, "bad.bin") })
	res = e.syncOK(false)
	require.True(t, res.Changed)
	require.Equal(t, 1, res.Downloaded)
	require.Equal(t, 2, res.Reused)
	e.requireContent(files)
	require.Equal(t, 1, u.count("good1.bin"))
	require.Equal(t, 1, u.count("good2.bin"))
	require.Equal(t, 2, u.count("bad.bin"))
}

func fsck(e *env) error {
	_, err := e.st.Fsck(e.ctx)
	return err
}

func TestSyncWrongSize(t *testing.T) {
	files := map[string][]byte{"a.bin": content("a", 4000), "ok.bin": []byte("ok")}
	cases := map[string]*fault{
		"longer":            {body: content("a", 4100)},
		"shorter":           {body: content("a", 3000)},
		"longer, chunked":   {body: content("a", 9000), chunked: true},
		"shorter, chunked":  {body: content("a", 10), chunked: true},
		"same size, chunks": {body: content("x", 4000), chunked: true}, // digest
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			u := newUpstream(t, files)
			u.faults["a.bin"] = f
			e.remote(u.url(), func(r *remote.Remote) { r.Retries = 1 })
			_, err := e.sync(false)
			requireFileError(t, err, "a.bin")
			if name == "same size, chunks" {
				require.ErrorIs(t, err, remote.ErrDigestMismatch)
			} else {
				require.ErrorIs(t, err, remote.ErrSizeMismatch)
			}
			require.True(t, e.head().IsZero())
			require.Equal(t, 1, e.blobCount(), "only ok.bin is stored")
		})
	}
}

func TestSync404(t *testing.T) {
	e := newEnv(t)
	u := newUpstream(t, map[string][]byte{"here.bin": []byte("here")})
	u.manifest = manifestOf(map[string][]byte{"here.bin": []byte("here"), "gone/missing.bin": []byte("missing")})
	e.remote(u.url())
	_, err := e.sync(false)
	requireFileError(t, err, "gone/missing.bin")
	var se *httpx.StatusError
	require.True(t, errors.As(err, &se))
	require.Equal(t, http.StatusNotFound, se.StatusCode)
	require.Contains(t, err.Error(), "404")
	require.Equal(t, 1, u.count("gone/missing.bin"), "a 404 is not retried")
	require.True(t, e.head().IsZero())

	// The manifest itself missing.
	_, err = e.m.Update(e.ctx, "up", func(r *remote.Remote) error { r.URL = u.srv.URL + "/repo/nope/PULP_MANIFEST"; return nil })
	require.NoError(t, err)
	_, err = e.sync(false)
	require.Error(t, err)
	require.Contains(t, err.Error(), "404")
}

func TestSyncRefusesBadManifest(t *testing.T) {
	d := digest([]byte("x"))
	cases := map[string]struct{ manifest, want string }{
		"dotdot":    {"ok.bin," + d + ",1\n../evil," + d + ",1\n", "line 2"},
		"inner":     {"a/../../evil," + d + ",1\n", "line 1"},
		"absolute":  {"ok.bin," + d + ",1\n/etc/passwd," + d + ",1\n", "absolute"},
		"duplicate": {"ok.bin," + d + ",1\nok.bin," + d + ",1\n", "listed twice"},
		"size":      {"ok.bin," + d + ",-1\n", "line 1"},
		"digest":    {"ok.bin,xyz,1\n", "64 hex digits"},
		"fields":    {"ok.bin," + d + "\n", "3 comma-separated fields"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			u := newUpstream(t, map[string][]byte{"ok.bin": []byte("x")})
			u.manifest = c.manifest
			e.remote(u.url())
			_, err := e.sync(false)
			require.Error(t, err)
			require.ErrorIs(t, err, pulpmanifest.ErrInvalid)
			require.Contains(t, err.Error(), c.want)
			require.Contains(t, err.Error(), "PULP_MANIFEST")
			if name == "dotdot" || name == "absolute" || name == "inner" {
				require.ErrorIs(t, err, tree.ErrInvalidPath)
			}
			require.True(t, e.head().IsZero())
			require.Zero(t, e.blobCount(), "nothing is stored")
			require.Zero(t, u.count("ok.bin"), "nothing is downloaded")
		})
	}
}

func TestSyncConcurrencyBound(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{}
	for i := range 40 {
		files[fmt.Sprintf("f/%02d.bin", i)] = content(fmt.Sprint(i), 10<<10)
	}
	u := newUpstream(t, files)
	var mu sync.Mutex
	active, peak := 0, 0
	u.hook = func() func() {
		mu.Lock()
		active++
		peak = max(peak, active)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return func() { mu.Lock(); active--; mu.Unlock() }
	}
	e.remote(u.url(), func(r *remote.Remote) { r.DownloadConcurrency = 3 })
	var calls int
	res, err := e.m.Sync(e.ctx, "up", "mirror", remote.SyncOptions{Progress: func(p remote.SyncProgress) {
		if p.FilesTotal == 0 {
			require.Zero(t, calls, "a step without totals after the plan: %+v", p)
			return // reading the index: no totals yet
		}
		if calls == 0 {
			// The plan comes before the first byte, so a bar shows totals and an ETA at once.
			require.Equal(t, remote.SyncProgress{FilesTotal: 40, BytesTotal: 40 * 10 << 10}, remote.SyncProgress{Files: p.Files, FilesTotal: p.FilesTotal, Bytes: p.Bytes, BytesTotal: p.BytesTotal})
		}
		calls++
		require.LessOrEqual(t, p.Files, p.FilesTotal)
		require.LessOrEqual(t, p.Bytes, p.BytesTotal)
	}})
	require.NoError(t, err)
	require.Equal(t, 40, res.Downloaded)
	require.Equal(t, int64(40*10<<10), res.BytesDownloaded)
	require.LessOrEqual(t, peak, 3)
	require.GreaterOrEqual(t, peak, 2)
	require.NotZero(t, calls)
	e.requireContent(files)
}

// badSyncer returns a fixed index, as a buggy Syncer might.
type badSyncer struct{ pkgs []remote.Package }

func (badSyncer) Kind() string { return "file" }
func (b badSyncer) Index(context.Context, remote.Upstream) ([]remote.Package, error) {
	return b.pkgs, nil
}

func TestSyncRefusesBadIndex(t *testing.T) {
	id := objects.Sum([]byte("x"))
	cases := map[string][]remote.Package{
		"unsafe path":  {{Path: "../x", URL: "http://h/x", SHA256: id, Size: 1}},
		"duplicate":    {{Path: "x", URL: "http://h/x", SHA256: id, Size: 1}, {Path: "x", URL: "http://h/y", SHA256: id, Size: 1}},
		"relative URL": {{Path: "x", URL: "x", SHA256: id, Size: 1}},
		"negative":     {{Path: "x", URL: "http://h/x", SHA256: id, Size: -1}},
	}
	for name, pkgs := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			m := remote.New(e.st, remote.NewRegistry(badSyncer{pkgs}))
			_, err := m.Create(e.ctx, remote.Remote{Name: "up", Kind: "file", URL: "http://127.0.0.1:1/PULP_MANIFEST"})
			require.NoError(t, err)
			_, err = m.Sync(e.ctx, "up", "mirror", remote.SyncOptions{})
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.True(t, e.head().IsZero())
		})
	}
}

func TestSyncManifestDropped(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{}
	for i := range 300 {
		files[fmt.Sprintf("dir/file-%03d.bin", i)] = []byte(fmt.Sprint(i))
	}
	u := newUpstream(t, files)
	u.faults["PULP_MANIFEST"] = &fault{dropAfter: 5000}
	e.remote(u.url())
	res := e.syncOK(false)
	require.Equal(t, 300, res.Added)
	require.Equal(t, []string{"bytes=5000-"}, u.rangesOf("PULP_MANIFEST"))
}

func TestSyncStopsAfterManyFailures(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{}
	manifest := map[string][]byte{}
	for i := range 100 {
		manifest[fmt.Sprintf("gone/%03d.bin", i)] = []byte(fmt.Sprint(i))
	}
	u := newUpstream(t, files)
	u.manifest = manifestOf(manifest)
	e.remote(u.url(), func(r *remote.Remote) { r.DownloadConcurrency = 2 })
	_, err := e.sync(false)
	var se *remote.SyncError
	require.True(t, errors.As(err, &se))
	require.GreaterOrEqual(t, len(se.Files), 10)
	require.LessOrEqual(t, len(se.Files), 12, "at most the downloads already started finish")
	require.Equal(t, 100, len(se.Files)+se.Skipped)
	require.Contains(t, err.Error(), "not tried")
	require.Contains(t, err.Error(), "and ")
}
