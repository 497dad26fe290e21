package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
)

// inspectRecords returns records with the metadata kind's Inspect reads
// from their stored blobs (CommitRequest.InspectRecords). Of what a
// record carried, only its on-demand provenance is kept (trustedMetadata).
// Every blob must be stored with the record's size; the kind places each
// record (Placer) with the commit's options opts. The records are
// inspected by a few workers; rs is not changed.
func (s *Store) inspectRecords(ctx context.Context, kind Kind, rs []Record, opts map[string]string) ([]Record, error) {
	out := make([]Record, len(rs))
	err := parallel.Do(ctx, len(rs), s.workers, func(ctx context.Context, i int) error {
		rec, err := s.inspectRecord(ctx, kind, rs[i], opts)
		out[i] = rec
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) inspectRecord(ctx context.Context, kind Kind, r Record, opts map[string]string) (Record, error) {
	st, err := s.objects.StatBlob(ctx, r.SHA256)
	if errors.Is(err, objects.ErrNotFound) {
		return Record{}, fmt.Errorf("%w: %s: blob %s is not in the store; upload it first", ErrInvalid, r.Path, r.SHA256)
	}
	if err != nil {
		return Record{}, err
	}
	if st.Size != r.Size {
		return Record{}, fmt.Errorf("%w: %s: blob %s has %d bytes, the record says %d", ErrInvalid, r.Path, r.SHA256, st.Size, r.Size)
	}
	content := &blobReaderAt{open: func() (*os.File, bool, error) { return s.blobFile(ctx, r.SHA256) }}
	meta, err := kind.Inspect(ctx, r.Path, content, r.Size)
	if cerr := content.close(); err == nil && cerr != nil {
		return Record{}, fmt.Errorf("%s: %w", r.Path, cerr)
	}
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: %w", ErrInvalid, r.Path, err)
	}
	meta = trustedMetadata(meta, r.Metadata)
	if err := checkDigest(kind, r.Path, r.SHA256, meta); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	path, err := place(kind, r.Path, meta, opts)
	if err != nil {
		return Record{}, err
	}
	return Record{Path: path, SHA256: r.SHA256, Size: r.Size, Metadata: meta}, nil
}

// fillRecords returns records with the keys Inspect reads from their
// stored blobs added where they lack them (CommitRequest.FillMetadata);
// rs is not changed.
func (s *Store) fillRecords(ctx context.Context, kind Kind, rs []Record) ([]Record, error) {
	out := slices.Clone(rs)
	err := parallel.Do(ctx, len(out), s.workers, func(ctx context.Context, i int) error {
		return s.fillRecord(ctx, kind, &out[i])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fillRecord gives r the metadata keys it lacks that the kind's Inspect
// reads from its stored blob; see fillRecords.
func (s *Store) fillRecord(ctx context.Context, kind Kind, r *Record) error {
	st, err := s.objects.StatBlob(ctx, r.SHA256)
	if errors.Is(err, objects.ErrNotFound) || (err == nil && st.Size != r.Size) {
		return nil // on demand, or refused by checkBlobs
	}
	if err != nil {
		return err
	}
	content := &blobReaderAt{open: func() (*os.File, bool, error) { return s.blobFile(ctx, r.SHA256) }}
	meta, err := kind.Inspect(ctx, r.Path, content, r.Size)
	if cerr := content.close(); cerr != nil {
		return fmt.Errorf("%s: %w", r.Path, cerr)
	}
	if err != nil || len(meta) == 0 {
		return nil // the record keeps what it says
	}
	m := maps.Clone(r.Metadata)
	if m == nil {
		m = make(map[string]string, len(meta))
	}
	for k, v := range meta {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	r.Metadata = m
	return nil
}

// trustedMetadata is inspected plus what of given is kept when a record's
// metadata comes from its content: the on-demand provenance MetaRemote and
// MetaURL, both or neither. Its blob being stored, the record never makes
// the store fetch from that URL; the keys only say where it came from.
func trustedMetadata(inspected, given map[string]string) map[string]string {
	rem, url := given[MetaRemote], given[MetaURL]
	if rem == "" || url == "" {
		return inspected
	}
	out := make(map[string]string, len(inspected)+2)
	for k, v := range inspected {
		out[k] = v
	}
	out[MetaRemote], out[MetaURL] = rem, url
	return out
}

// blobFile opens a file holding blob id's content: the blob's own file
// when the backend keeps it raw on local disk (remove false), else a
// temporary copy of its verified, decompressed content in the store's
// temporary directory, which the caller removes.
func (s *Store) blobFile(ctx context.Context, id objects.ID) (f *os.File, remove bool, err error) {
	if p, ok := s.objects.BlobPath(id); ok {
		f, err := os.Open(p)
		if err == nil {
			return f, false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("open blob %s: %w", id, err)
		}
	}
	rc, err := s.objects.OpenBlob(ctx, id)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	f, err = os.CreateTemp(s.objects.TempDir(), "pkgvc-inspect-*")
	if err != nil {
		return nil, false, fmt.Errorf("blob %s: %w", id, err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name()) // the copy error is the one to report
		return nil, false, fmt.Errorf("blob %s: %w", id, err)
	}
	return f, true, nil
}

// blobReaderAt reads a blob through the file open returns, opened at the
// first read: a kind that reads nothing (a file, a container blob) costs
// no copy.
type blobReaderAt struct {
	open func() (*os.File, bool, error)

	once   sync.Once
	f      *os.File
	remove bool
	err    error
}

func (b *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	b.once.Do(func() { b.f, b.remove, b.err = b.open() })
	if b.err != nil {
		return 0, b.err
	}
	return b.f.ReadAt(p, off)
}

// close closes the file, if opened, and removes it if it is a copy.
func (b *blobReaderAt) close() error {
	b.once.Do(func() {}) // no open after close
	if b.f == nil {
		return nil
	}
	err := b.f.Close()
	if b.remove {
		if rerr := os.Remove(b.f.Name()); err == nil {
			err = rerr
		}
	}
	return err
}
