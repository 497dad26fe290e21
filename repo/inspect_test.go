package repo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// putBytes stores data as a blob outside of any version.
func (e *rtEnv) putBytes(data []byte) objects.PutResult {
	e.t.Helper()
	b := e.s.Objects().NewBatch()
	res, err := b.PutBlob(e.ctx, bytes.NewReader(data))
	require.NoError(e.t, err)
	require.NoError(e.t, b.Flush(e.ctx))
	return res
}

// inspectLeftovers lists the temporary copies inspection left behind.
func inspectLeftovers(t *testing.T, s *repo.Store) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(s.Objects().TempDir(), "pkgvc-inspect-*"))
	require.NoError(t, err)
	return left
}

// TestCommitInspectRecords commits wheels by digest with InspectRecords:
// the metadata is the one Inspect reads from the stored blob, whether the
// blob is a raw file of an on-disk store, a compressed one, or in memory.
func TestCommitInspectRecords(t *testing.T) {
	// Stored random bytes: the store keeps the blob raw.
	noise := make([]byte, 64<<10)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(noise)
	plain := pythontest.Spec{Name: "Demo-Pkg", Version: "1.0", RequiresPython: ">=3.9", Store: true,
		Extra: []pythontest.File{{Name: "demo_pkg/noise.bin", Body: noise}}}
	// Stored entries of repetitive text: the store keeps the blob
	// compressed, so Inspect reads a decompressed copy.
	packed := pythontest.Spec{Name: "packed", Version: "2.0", Store: true,
		Extra: []pythontest.File{{Name: "packed/data.txt", Body: []byte(strings.Repeat("pkgvc ", 100_000))}}}
	for _, tc := range []struct {
		name       string
		env        func(*testing.T) *rtEnv
		spec       pythontest.Spec
		compressed bool
	}{
		{name: "raw blob on disk", env: func(t *testing.T) *rtEnv { return newFSEnv(t) }, spec: plain},
		{name: "compressed blob on disk", env: func(t *testing.T) *rtEnv { return newFSEnv(t) }, spec: packed, compressed: true},
		{name: "in memory", env: func(t *testing.T) *rtEnv { return newMemEnv(t) }, spec: plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env(t)
			e.create("py", repo.CreateOptions{Kind: "python"})
			fn, data := tc.spec.Wheel()
			blob := e.putBytes(data)
			_, onDisk := e.s.Objects().BlobPath(blob.ID)
			require.Equal(t, e.dir != "" && !tc.compressed, onDisk, "where the blob is")

			given := map[string]string{"name": "evil", "version": "6.6.6", "yanked": "true", "x": "y"}
			_, err := e.s.Commit(e.ctx, "py", repo.CommitRequest{InspectRecords: true,
				Records: []repo.Record{{Path: "p/" + fn, SHA256: blob.ID, Size: blob.Size, Metadata: given}}})
			require.NoError(t, err)
			recs, err := e.s.List(e.ctx, "py")
			require.NoError(t, err)
			require.Len(t, recs, 1)
			sum := sha256.Sum256(tc.spec.Metadata())
			want := map[string]string{
				"name": strings.ToLower(tc.spec.Name), "version": tc.spec.Version, "filename": fn,
				"packagetype": "bdist_wheel", "metadata_sha256": hex.EncodeToString(sum[:]), "yanked": "false",
			}
			if tc.spec.RequiresPython != "" {
				want["requires_python"] = tc.spec.RequiresPython
			}
			require.Equal(t, want, recs[0].Metadata)
			require.Equal(t, map[string]string{"name": "evil", "version": "6.6.6", "yanked": "true", "x": "y"}, given, "the request is not changed")
			require.Empty(t, inspectLeftovers(t, e.s))
		})
	}
}

// TestCommitInspectRecordsTrust: of a record's own metadata only the
// on-demand provenance survives inspection, and what cannot be inspected
// is refused; without InspectRecords a record keeps what it carries.
func TestCommitInspectRecordsTrust(t *testing.T) {
	e := newMemEnv(t)
	e.create("py", repo.CreateOptions{Kind: "python"})
	fn, data := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
	blob := e.putBytes(data)
	junk := e.putBlob("not a wheel")
	missing := objects.ID(sha256.Sum256([]byte("never stored")))
	url := "https://up.example/" + fn

	for _, tc := range []struct {
		name    string
		rec     repo.Record
		inspect bool
		want    map[string]string // name, version and the provenance keys
		wantErr error
	}{
		{name: "provenance kept", inspect: true,
			rec:  repo.Record{Path: fn, SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{"name": "x", repo.MetaRemote: "up", repo.MetaURL: url}},
			want: map[string]string{"name": "demo", "version": "1.0", repo.MetaRemote: "up", repo.MetaURL: url}},
		{name: "half a provenance dropped", inspect: true,
			rec:  repo.Record{Path: fn, SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{repo.MetaURL: url}},
			want: map[string]string{"name": "demo", "version": "1.0"}},
		{name: "trusted caller keeps its metadata",
			rec:  repo.Record{Path: fn, SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{"name": "x", "version": "9"}},
			want: map[string]string{"name": "x", "version": "9"}},
		{name: "not a wheel", inspect: true,
			rec: repo.Record{Path: "junk-1.0-py3-none-any.whl", SHA256: junk.ID, Size: junk.Size}, wantErr: repo.ErrInvalid},
		{name: "wrong size", inspect: true,
			rec: repo.Record{Path: fn, SHA256: blob.ID, Size: blob.Size + 1}, wantErr: repo.ErrInvalid},
		{name: "on-demand, never fetched", inspect: true,
			rec:     repo.Record{Path: "gone-1.0-py3-none-any.whl", SHA256: missing, Size: 3, Metadata: map[string]string{repo.MetaRemote: "up", repo.MetaURL: url}},
			wantErr: repo.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.Commit(e.ctx, "py", repo.CommitRequest{InspectRecords: tc.inspect, Records: []repo.Record{tc.rec}})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			recs, err := e.s.List(e.ctx, "py")
			require.NoError(t, err)
			require.Len(t, recs, 1)
			got := map[string]string{}
			for _, k := range []string{"name", "version", repo.MetaRemote, repo.MetaURL} {
				if v, ok := recs[0].Metadata[k]; ok {
					got[k] = v
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestCommitInspectRecordsContainer: a container repository's records by
// digest still meet CheckDigest, now on the metadata read from content.
func TestCommitInspectRecordsContainer(t *testing.T) {
	e := newFSEnv(t)
	e.create("img", repo.CreateOptions{Kind: "container"})
	layer := e.putBlob("layer bytes")
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + layer.ID.String() + `","size":11},"layers":[]}`)
	m := e.putBytes(manifest)
	commit := func(recs ...repo.Record) error {
		_, err := e.s.Commit(e.ctx, "img", repo.CommitRequest{InspectRecords: true, Records: recs})
		return err
	}

	require.ErrorIs(t, commit(repo.Record{Path: container.BlobPath(m.ID.String()), SHA256: layer.ID, Size: layer.Size}), repo.ErrInvalid,
		"a blob's path names its digest")
	lie := map[string]string{container.MetaMediaType: "application/vnd.oci.image.index.v1+json", container.MetaDigest: "sha256:" + layer.ID.String()}
	require.NoError(t, commit(
		repo.Record{Path: container.BlobPath(layer.ID.String()), SHA256: layer.ID, Size: layer.Size},
		repo.Record{Path: container.ManifestPath(m.ID.String()), SHA256: m.ID, Size: m.Size, Metadata: lie},
		repo.Record{Path: container.TagPath("v1"), SHA256: m.ID, Size: m.Size, Metadata: lie},
	))
	recs, err := e.s.List(e.ctx, "img")
	require.NoError(t, err)
	byPath := map[string]map[string]string{}
	for _, r := range recs {
		byPath[r.Path] = r.Metadata
	}
	require.Equal(t, map[string]map[string]string{
		container.BlobPath(layer.ID.String()): nil,
		container.ManifestPath(m.ID.String()): {
			container.MetaMediaType:    "application/vnd.oci.image.manifest.v1+json",
			container.MetaArtifactType: "application/vnd.oci.image.config.v1+json",
		},
		container.TagPath("v1"): {container.MetaMediaType: "application/vnd.oci.image.manifest.v1+json", container.MetaDigest: "sha256:" + m.ID.String()},
	}, byPath)
	require.Empty(t, inspectLeftovers(t, e.s))
	_, err = os.Stat(e.s.Objects().TempDir())
	require.NoError(t, err)
}
