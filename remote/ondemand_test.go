package remote_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func TestOnDemand(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{
		"a/one.bin":   content("one", 100<<10),
		"a/two.bin":   content("two", 3000),
		"b/three.txt": []byte("three\n"),
		"b/four.txt":  []byte("four\n"),
	}
	writeTree(t, dir, files)
	base := httpxtest.StaticServer(t, dir)
	e.remote(base+"PULP_MANIFEST", func(r *remote.Remote) { r.Policy = remote.OnDemand })

	res := e.syncOK(false)
	require.True(t, res.Changed)
	require.Equal(t, 4, res.Added)
	require.Zero(t, res.Downloaded)
	require.Zero(t, res.BytesDownloaded)
	recs := e.records()
	for p, data := range files {
		r := recs[p]
		require.Equal(t, objects.Sum(data), r.SHA256)
		require.Equal(t, int64(len(data)), r.Size)
		require.True(t, repo.IsOnDemand(r))
		require.Equal(t, "up", r.Metadata[repo.MetaRemote])
		require.Equal(t, base+p, r.Metadata[repo.MetaURL])
		require.False(t, e.hasBlob(data), "on_demand stores no bytes")
	}
	fr, err := e.st.Fsck(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 4, fr.NotFetched)

	// A second sync changes nothing.
	res = e.syncOK(false)
	require.False(t, res.Changed)
	require.Equal(t, 4, res.Unchanged)

	// FetchBlob fetches, verifies, stores and writes at once.
	var buf bytes.Buffer
	require.NoError(t, e.m.FetchBlob(e.ctx, recs["a/one.bin"], &buf))
	require.Equal(t, files["a/one.bin"], buf.Bytes())
	require.True(t, e.hasBlob(files["a/one.bin"]))
	require.NoError(t, e.st.Objects().VerifyBlob(e.ctx, recs["a/one.bin"].SHA256))
	fr, err = e.st.Fsck(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, fr.NotFetched)

	// Stored now: served from the store even with the upstream changed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/one.bin"), content("other", 100<<10), 0o644))
	buf.Reset()
	require.NoError(t, e.m.FetchBlob(e.ctx, recs["a/one.bin"], &buf))
	require.Equal(t, files["a/one.bin"], buf.Bytes())

	// Tampered upstream bytes: an error, nothing stored.
	before := e.blobCount()
	tampered := content("tampered", 3000)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/two.bin"), tampered, 0o644))
	buf.Reset()
	err = e.m.FetchBlob(e.ctx, recs["a/two.bin"], &buf)
	require.ErrorIs(t, err, remote.ErrDigestMismatch)
	require.Contains(t, err.Error(), "a/two.bin")
	require.False(t, e.hasBlob(files["a/two.bin"]))
	require.False(t, e.hasBlob(tampered))
	require.Equal(t, before, e.blobCount())

	// Wrong size: refused before reading the body.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/two.bin"), content("two", 3001), 0o644))
	err = e.m.FetchBlob(e.ctx, recs["a/two.bin"], &bytes.Buffer{})
	require.ErrorIs(t, err, remote.ErrSizeMismatch)
	require.Equal(t, before, e.blobCount())

	// The client went away: the blob is still stored, the write error returned.
	errGone := errors.New("client gone")
	err = e.m.FetchBlob(e.ctx, recs["b/three.txt"], failWriter{errGone})
	require.ErrorIs(t, err, errGone)
	require.True(t, e.hasBlob(files["b/three.txt"]))

	// Not on demand and not stored.
	plain := repo.Record{Path: "x", SHA256: objects.Sum([]byte("nope")), Size: 4}
	require.ErrorIs(t, e.m.FetchBlob(e.ctx, plain, &buf), remote.ErrNotOnDemand)

	// Switching the remote to immediate downloads what is missing.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/two.bin"), files["a/two.bin"], 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/one.bin"), files["a/one.bin"], 0o644))
	_, err = e.m.Update(e.ctx, "up", func(r *remote.Remote) error { r.Policy = remote.Immediate; return nil })
	require.NoError(t, err)
	res = e.syncOK(false)
	require.True(t, res.Changed)
	require.Equal(t, 2, res.Updated, "two.bin and four.txt were never fetched")
	require.Equal(t, 2, res.Unchanged)
	require.Equal(t, 2, res.Downloaded)
	fr, err = e.st.Fsck(e.ctx)
	require.NoError(t, err)
	require.Zero(t, fr.NotFetched)
	e.requireContent(files)

	// A deleted remote cannot serve its on-demand records.
	require.NoError(t, e.m.Delete(e.ctx, "up"))
	rec := recs["a/two.bin"]
	rec.SHA256 = objects.Sum([]byte("never stored"))
	require.ErrorIs(t, e.m.FetchBlob(e.ctx, rec, &buf), remote.ErrRemoteNotFound)
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestFetchBlobRetriesAndResumes(t *testing.T) {
	e := newEnv(t)
	big := content("big", 2<<20)
	u := newUpstream(t, map[string][]byte{"big.bin": big})
	u.faults["big.bin"] = &fault{fail: 1, dropAfter: 512 << 10}
	e.remote(u.url(), func(r *remote.Remote) { r.Policy = remote.OnDemand })
	e.syncOK(false)
	rec := e.records()["big.bin"]
	var buf bytes.Buffer
	require.NoError(t, e.m.FetchBlob(e.ctx, rec, &buf))
	require.Equal(t, big, buf.Bytes())
	require.Equal(t, 3, u.count("big.bin"))
	require.Equal(t, []string{"bytes=524288-"}, u.rangesOf("big.bin"))
	require.True(t, e.hasBlob(big))
}

// A record whose size is not its stored blob's (an on-demand record an
// upstream listed with another file's digest, whose bytes another record
// stored later) is not copied out as if it matched.
func TestFetchBlobStoredOfOtherSize(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{"a/one.bin": content("one", 3000)}
	writeTree(t, dir, files)
	base := httpxtest.StaticServer(t, dir)
	e.remote(base + "PULP_MANIFEST")
	e.syncOK(false)
	rec := e.records()["a/one.bin"]
	require.True(t, e.hasBlob(files["a/one.bin"]))

	rec.Path, rec.Size = "b/lie.bin", rec.Size+7
	rec.Metadata = map[string]string{repo.MetaRemote: "up", repo.MetaURL: base + "a/one.bin"}
	var buf bytes.Buffer
	err := e.m.FetchBlob(e.ctx, rec, &buf)
	require.ErrorIs(t, err, remote.ErrSizeMismatch)
	require.Contains(t, err.Error(), "b/lie.bin")
	require.Zero(t, buf.Len(), "nothing written")
}
