package deb_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/repo"
)

// TestCommitRecordMetadata: a record committed by digest carries the
// control paragraph its Packages stanza is written from: one paragraph,
// without the fields the stanza adds, naming the package the record's
// metadata and path name. Anything else would put other stanzas, or
// duplicate fields apt refuses, into the distribution's index.
func TestCommitRecordMetadata(t *testing.T) {
	ctx := context.Background()
	st := debStore(t)
	b := st.Objects().NewBatch()
	blob, err := b.PutBlob(ctx, bytes.NewReader([]byte("not really a .deb")))
	require.NoError(t, err)
	require.NoError(t, b.Flush(ctx))
	const good = "Package: hello\nVersion: 1.0\nArchitecture: all\nDescription: hi\n there"
	rec := func(control string) repo.Record {
		return repo.Record{Path: deb.PoolPath("main", "hello", "hello", "1.0", "all"), SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{
			deb.MetaControl: control, deb.MetaPackage: "hello", deb.MetaVersion: "1.0", deb.MetaArchitecture: "all",
		}}
	}
	for name, r := range map[string]repo.Record{
		"second stanza": rec(good + "\n\nPackage: evil\nVersion: 9\nArchitecture: all\nFilename: pool/x.deb"),
		"index field":   rec(good + "\nFilename: pool/main/e/evil/evil_1_all.deb"),
		"other package": rec("Package: evil\nVersion: 1.0\nArchitecture: all"),
		"other version": rec("Package: hello\nVersion: 2.0\nArchitecture: all"),
		"not deb822":    rec("just text"),
		"other source":  func() repo.Record { r := rec(good); r.Metadata[deb.MetaSource] = "other"; return r }(),
		"other pool path": func() repo.Record {
			r := rec(good)
			r.Path = deb.PoolPath("main", "hello", "hello", "1.1", "all")
			return r
		}(),
	} {
		_, err := st.Commit(ctx, "deb", repo.CommitRequest{Records: []repo.Record{r}})
		require.ErrorIs(t, err, repo.ErrInvalid, name)
	}
	_, err = st.Commit(ctx, "deb", repo.CommitRequest{Records: []repo.Record{rec(good)}})
	require.NoError(t, err)
}
