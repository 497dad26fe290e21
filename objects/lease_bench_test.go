package objects_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
)

func benchFSStore(b *testing.B) *objects.Store {
	fb, err := objectsfs.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return objects.New(fb)
}

// BenchmarkLease is the cost of a short lease on a store directory, as
// every commit takes one.
func BenchmarkLease(b *testing.B) {
	s := benchFSStore(b)
	ctx := context.Background()
	for b.Loop() {
		_, release, err := s.Lease(ctx)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// BenchmarkReference is the cost of referencing a stored blob, as a
// commit does for each blob it names by digest.
func BenchmarkReference(b *testing.B) {
	s := benchFSStore(b)
	ctx := context.Background()
	bt := s.NewBatch()
	res, err := bt.PutBlob(ctx, strings.NewReader("a stored blob"))
	if err != nil {
		b.Fatal(err)
	}
	if err := bt.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Reference(ctx, res.ID); err != nil {
			b.Fatal(err)
		}
	}
}
