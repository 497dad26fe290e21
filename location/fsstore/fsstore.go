// Package fsstore is the local store layout, the location scheme "file":
// a directory holding the object store (objects/fs) in "data", the refs
// (refs/fs) in "refs", the metadata store (meta/fs) in "meta" (resumable
// uploads' bytes wait in data/tmp/uploads), and the format marker
// pkgvc-store.json.
package fsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pkgvc/pkgvc/location"
	metafs "github.com/pkgvc/pkgvc/meta/fs"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
	refsfs "github.com/pkgvc/pkgvc/refs/fs"
	"github.com/pkgvc/pkgvc/repo"
)

// Scheme is the location scheme of local stores: file:///DIR, or DIR.
const Scheme = "file"

const (
	// metaDir holds the metadata store (package meta/fs).
	metaDir = "meta"
	// refsDir holds the refs (package refs/fs).
	refsDir = "refs"
	// dataDir holds the object store (package objects/fs).
	dataDir = "data"
	// formatFile marks a directory as a pkgvc store and records its format.
	formatFile = "pkgvc-store.json"
)

// Open is the opener of the file scheme: loc.Rest is the directory
// (location.Parse has decoded a file URI to it).
func Open(ctx context.Context, loc location.Location, mode location.Mode) (*location.Parts, error) {
	return OpenParts(ctx, loc.Rest, mode)
}

// OpenParts opens the store in dir: Create makes it if dir is missing or
// empty; a non-empty directory without the store marker is refused, and
// so is a store written in a newer format, or in an older one unless mode
// is Upgrade.
func OpenParts(ctx context.Context, dir string, mode location.Mode) (*location.Parts, error) {
	if mode != location.Create {
		if _, err := os.Stat(filepath.Join(dir, formatFile)); errors.Is(err, os.ErrNotExist) {
			ents, err := os.ReadDir(dir)
			if errors.Is(err, os.ErrNotExist) || (err == nil && len(ents) == 0) {
				return nil, fmt.Errorf("%w at %s", repo.ErrNoStore, dir)
			}
		}
	}
	if err := prepareDir(dir, mode == location.Upgrade); err != nil {
		return nil, err
	}
	mb, err := metafs.New(filepath.Join(dir, metaDir))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	ob, err := objectsfs.New(filepath.Join(dir, dataDir))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	rb, err := refsfs.New(filepath.Join(dir, refsDir))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	p := &location.Parts{
		Objects: ob, Refs: rb, Meta: mb,
		Format:  marker(dir),
		TempDir: filepath.Join(dir, dataDir, "tmp"),
	}
	if w, err := WatchRefs(dir); err == nil {
		p.Watch = w
	}
	return p, nil
}

// OpenDir opens the store in dir as a repo.Store, creating it if dir is
// missing or empty (see OpenParts).
func OpenDir(ctx context.Context, dir string, kinds *repo.Kinds, opts ...repo.Option) (*repo.Store, error) {
	p, err := OpenParts(ctx, dir, location.Create)
	if err != nil {
		return nil, err
	}
	return storeOf(p, kinds, opts...), nil
}

// OpenExistingDir opens the store in dir as OpenDir does, but creates
// none: a dir that is missing or empty is repo.ErrNoStore.
func OpenExistingDir(ctx context.Context, dir string, kinds *repo.Kinds, opts ...repo.Option) (*repo.Store, error) {
	p, err := OpenParts(ctx, dir, location.Existing)
	if err != nil {
		return nil, err
	}
	return storeOf(p, kinds, opts...), nil
}

// storeOf builds the store of p; a repo.Store holds nothing open, so the
// watch it does not use is closed.
func storeOf(p *location.Parts, kinds *repo.Kinds, opts ...repo.Option) *repo.Store {
	if p.Watch != nil {
		p.Watch.Close()
		p.Watch = nil
	}
	return p.Store(kinds, opts...)
}

// Upgrade converts the store in dir to repo.FormatVersion (see
// repo.Upgrade); a dir without a store is repo.ErrNoStore.
func Upgrade(ctx context.Context, dir string, kinds *repo.Kinds, steps []repo.UpgradeStep, opts ...repo.Option) (*repo.UpgradeReport, error) {
	p, err := OpenParts(ctx, dir, location.Upgrade)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return repo.Upgrade(ctx, p.Store(kinds, opts...), p.Format, dir, steps)
}

// marker is the format file of the store in a directory.
type marker string

type formatDoc struct {
	Format int `json:"format"`
}

// ReadFormat implements repo.FormatMarker.
func (m marker) ReadFormat(context.Context) (int, error) {
	f, err := readFormat(string(m))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w at %s", repo.ErrNoStore, string(m))
	}
	return f, err
}

// WriteFormat implements repo.FormatMarker.
func (m marker) WriteFormat(_ context.Context, format int) error {
	return writeFormat(string(m), format)
}

// readFormat returns the format of the store in dir; a missing marker is
// os.ErrNotExist.
func readFormat(dir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(dir, formatFile))
	if err != nil {
		return 0, err
	}
	var f formatDoc
	if err := json.Unmarshal(data, &f); err != nil || f.Format < 1 {
		return 0, fmt.Errorf("%w: %s has an unreadable %s", repo.ErrNotStore, dir, formatFile)
	}
	return f.Format, nil
}

// prepareDir checks the store in dir, or makes one; old accepts a store
// in an older format, for Upgrade.
func prepareDir(dir string, old bool) error {
	format, err := readFormat(dir)
	switch {
	case err == nil:
		return repo.CheckFormat(dir, format, old)
	case errors.Is(err, repo.ErrNotStore):
		return err
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %s is a file", repo.ErrNotStore, dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("open store %s: %w", dir, err)
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is a file", repo.ErrNotStore, dir)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("open store %s: %w", dir, err)
		}
		others := 0
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".format-") { // another process initializing
				others++
			}
		}
		if others > 0 {
			return fmt.Errorf("%w: %s is not empty and has no %s; give --store an empty or new directory", repo.ErrNotStore, dir, formatFile)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create store %s: %w", dir, err)
	}
	return writeFormat(dir, repo.FormatVersion)
}

// writeFormat records the store's format, atomically.
func writeFormat(dir string, format int) error {
	marker := filepath.Join(dir, formatFile)
	data, _ := json.Marshal(formatDoc{Format: format})
	tmp, err := os.CreateTemp(dir, ".format-*")
	if err != nil {
		return fmt.Errorf("create store %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), marker)
}

// OpenReplica opens the copy of a served version's store that a checkout
// from a server keeps beside its directory: the object store and refs of
// the local layout without a format marker, documents in memory (a copy
// has none to keep), and blobs kept raw, so that the checkout can clone
// or link them.
func OpenReplica(dir string, kinds *repo.Kinds) (*repo.Store, error) {
	ob, err := objectsfs.New(filepath.Join(dir, dataDir))
	if err != nil {
		return nil, err
	}
	rb, err := refsfs.New(filepath.Join(dir, refsDir))
	if err != nil {
		return nil, err
	}
	st := objects.New(ob, objects.WithTempDir(filepath.Join(dir, dataDir, "tmp")), objects.WithSampleSize(0))
	return repo.New(st, rb, kinds, repo.WithMeta(metamem.New())), nil
}
