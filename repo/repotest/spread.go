// Package repotest builds stores for the tests of packages above repo.
package repotest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/objects/objectstest"
	"github.com/pkgvc/pkgvc/refs"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// Spread is an in-memory store whose repository "r" holds n records
// of one blob: d7/f0.whl … d7/f{dir-1}.whl, the rest spread over 50
// directories e0 … e49. Its objects are read through a counting backend,
// so that a test can tell what an operation reads at two sizes.
type Spread struct {
	kinds   *repo.Kinds
	St      *repo.Store
	Objects *objectstest.Counting
	Refs    refs.Backend
	Blob    objects.PutResult
}

// NewSpread builds a Spread of n records, dir of them under d7/, in a
// repository of the default kind of kinds.
func NewSpread(t testing.TB, kinds *repo.Kinds, n, dir int) *Spread {
	t.Helper()
	ctx := context.Background()
	s := &Spread{kinds: kinds, Objects: &objectstest.Counting{Backend: objectsmem.New()}, Refs: refsmem.New()}
	s.St = repo.New(objects.New(s.Objects), s.Refs, kinds, repo.WithMeta(metamem.New()))
	_, err := s.St.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	b := s.St.Objects().NewBatch()
	s.Blob, err = b.PutBlob(ctx, bytes.NewReader([]byte("content")))
	require.NoError(t, err)
	require.NoError(t, b.Flush(ctx))
	recs := make([]repo.Record, 0, n)
	for i := 0; len(recs) < n; i++ {
		p := fmt.Sprintf("e%d/p%06d.whl", i%50, i)
		if i < dir {
			p = fmt.Sprintf("d7/f%d.whl", i)
		}
		recs = append(recs, s.Record(p))
	}
	_, err = s.St.Commit(ctx, "r", repo.CommitRequest{Records: recs})
	require.NoError(t, err)
	return s
}

// Record is a record of the Spread's blob at path p.
func (s *Spread) Record(p string) repo.Record {
	return repo.Record{Path: p, SHA256: s.Blob.ID, Size: s.Blob.Size}
}

// Fresh returns another Store on the same objects, refs and documents that
// has read nothing yet, as another process on one store directory.
func (s *Spread) Fresh() *repo.Store {
	return repo.New(objects.New(s.Objects), s.Refs, s.kinds, repo.WithMeta(s.St.Meta()))
}
