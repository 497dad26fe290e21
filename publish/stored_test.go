package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/refs"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// listPublisher publishes LIST, the paths of a version, one a line.
type listPublisher struct{}

func (listPublisher) Kind() string { return "file" }

func (listPublisher) Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]publish.File, error) {
	var b strings.Builder
	err := tree.Walk(ctx, st.Objects(), v.Tree, func(e tree.Entry) error {
		b.WriteString(e.Path + "\n")
		return nil
	})
	return []publish.File{{Path: "dir/LIST", ContentType: "text/plain", Content: []byte(b.String())}}, err
}

func commitFile(t *testing.T, ctx context.Context, st *repo.Store, name string) *repo.Version {
	t.Helper()
	f := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(f, []byte(name), 0o644))
	_, err := st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: name, File: f}}})
	require.NoError(t, err)
	v, err := st.Resolve(ctx, "r")
	require.NoError(t, err)
	return v
}

// TestStoredPublication: a publication is stored once, read by lookups
// and listings, and gc keeps those of the head and its parent while
// dropping older ones, objects and all.
func TestStoredPublication(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{Kind: "file"})
	require.NoError(t, err)
	reg := publish.NewRegistry(listPublisher{})
	pubs := publish.NewPublications(st, reg, 8)

	var vs []*repo.Version
	var ps []*publish.Publication
	for _, name := range []string{"a", "b", "c"} {
		v := commitFile(t, ctx, st, name)
		p, err := pubs.For(ctx, "file", v)
		require.NoError(t, err)
		vs, ps = append(vs, v), append(ps, p)
	}
	data, ok, err := ps[2].ReadFile(ctx, "dir/LIST")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a\nb\nc\n", string(data))
	var names []string
	require.NoError(t, ps[2].List(ctx, "", func(name string, isDir bool, _ *publish.File) error {
		names = append(names, name)
		require.True(t, isDir)
		return nil
	}))
	require.Equal(t, []string{"dir"}, names)
	has, err := ps[2].HasDir(ctx, "dir/")
	require.NoError(t, err)
	require.True(t, has)
	_, ok, err = ps[2].Lookup(ctx, "@anything")
	require.NoError(t, err)
	require.False(t, ok)

	old := ps[0].Root
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	for i, want := range []bool{false, true, true} {
		_, err := st.Refs().Get(ctx, publish.RefName(listPublisher{}, vs[i].ID))
		require.Equal(t, want, err == nil, "publication of version %d kept", i+1)
		if !want {
			require.True(t, errors.Is(err, refs.ErrNotFound), err)
		}
	}
	_, err = st.Objects().GetObject(ctx, old)
	require.ErrorIs(t, err, objects.ErrNotFound, "a dropped publication's tree is collected")
	data, ok, err = ps[2].ReadFile(ctx, "dir/LIST")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a\nb\nc\n", string(data))
}

// suitePublisher writes SUITE, the suite its distribution's settings name,
// building whole or from the previous publication.
type suitePublisher struct{}

func (suitePublisher) Kind() string { return "file" }
func (suitePublisher) Publish(context.Context, *repo.Store, *repo.Version) ([]publish.File, error) {
	return nil, errors.New("an Incremental publisher is built through Build")
}
func (s suitePublisher) Build(ctx context.Context, _ *repo.Store, v *repo.Version, w *publish.Writer) error {
	var o struct {
		Suite string `json:"suite"`
	}
	if err := w.Params.Options.Decode(&o); err != nil {
		return err
	}
	return w.Put("SUITE", "text/plain", []byte(o.Suite+" "+v.ID.String()))
}
func (s suitePublisher) UpdateFrom(ctx context.Context, st *repo.Store, _ *publish.Publication, _ []publish.Change, v *repo.Version, w *publish.Writer) error {
	return s.Build(ctx, st, v, w)
}

// A publication is a function of the version and the distribution's
// settings: two settings, two publications; the same settings, one.
func TestPublicationParams(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{Kind: "file"})
	require.NoError(t, err)
	v := commitFile(t, ctx, st, "a")
	suite := func(s string) publish.Params {
		return publish.Params{Options: options.Values{"suite": json.RawMessage(`"` + s + `"`)}}
	}
	read := func(pubs *publish.Publications, pp publish.Params) string {
		p, err := pubs.ForParams(ctx, "file", v, pp)
		require.NoError(t, err)
		pubs.Wait()
		b, ok, err := p.ReadFile(ctx, "SUITE")
		require.NoError(t, err)
		require.True(t, ok)
		return string(b)
	}
	pubs := publish.NewPublications(st, publish.NewRegistry(suitePublisher{}), 8)
	require.Equal(t, "stable "+v.ID.String(), read(pubs, suite("stable")))
	require.Equal(t, "testing "+v.ID.String(), read(pubs, suite("testing")))
	require.Equal(t, " "+v.ID.String(), read(pubs, publish.Params{}))

	// Another process finds each stored under its own settings.
	other := publish.NewPublications(st, publish.NewRegistry(suitePublisher{}), 8)
	require.Equal(t, "testing "+v.ID.String(), read(other, suite("testing")))
	n := 0
	require.NoError(t, st.Refs().List(ctx, publish.RefPrefix, func(name string, _ objects.ID) error { n++; return nil }))
	require.Equal(t, 3, n, "one stored publication per settings")
}
