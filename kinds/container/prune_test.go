package container_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/repo"
)

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const day = 24 * time.Hour

// countingMeta counts the writes to a metadata store.
type countingMeta struct {
	meta.Store
	mu     sync.Mutex
	writes int
}

func (m *countingMeta) Apply(ctx context.Context, ops ...meta.Op) ([]meta.Rev, error) {
	m.mu.Lock()
	m.writes++
	m.mu.Unlock()
	return m.Store.Apply(ctx, ops...)
}

// cacheEnv is a store on a fake clock with container repository cache,
// served by distribution cache.
type cacheEnv struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock
	st    *repo.Store
	dists *dist.Dists
}

func newCacheEnv(t *testing.T, retain int, retainUnpulled string) *cacheEnv {
	ctx := context.Background()
	// From now on, as gc compares the objects' files' times with it.
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), all.Kinds(), repo.WithClock(clk.Now), repo.WithWho("tester"))
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "cache", repo.CreateOptions{Kind: "container", Retain: retain})
	require.NoError(t, err)
	ds := dist.NewDists(st)
	var opts options.Values
	if retainUnpulled != "" {
		opts = options.Values{container.OptRetainUnpulled: json.RawMessage(`"` + retainUnpulled + `"`)}
	}
	_, err = ds.Create(ctx, "cache", dist.DistSpec{BasePath: "cache/img", Repo: "cache", Options: opts})
	require.NoError(t, err)
	return &cacheEnv{t: t, ctx: ctx, clk: clk, st: st, dists: ds}
}

// img is an image the env committed.
type img struct {
	manifest     string // hex
	config       string // hex
	layers       []string
	manifestData []byte
}

// put stores data and returns its record at p.
func (e *cacheEnv) put(p string, data []byte, md map[string]string) repo.Record {
	b := e.st.Objects().NewBatch()
	res, err := b.PutBlob(e.ctx, strings.NewReader(string(data)))
	require.NoError(e.t, err)
	require.NoError(e.t, b.Flush(e.ctx))
	return repo.Record{Path: p, SHA256: res.ID, Size: res.Size, Metadata: md}
}

// commit adds images under their tags (or untagged for ""), as one version.
func (e *cacheEnv) commit(msg string, tagged map[string]*img) {
	var recs []repo.Record
	for tag, im := range tagged {
		recs = append(recs, e.imageRecords(im)...)
		if tag != "" {
			recs = append(recs, e.put(container.TagPath(tag), im.manifestData, container.TagMetadata("application/vnd.oci.image.manifest.v1+json", "sha256:"+im.manifest)))
		}
	}
	_, err := e.st.Commit(e.ctx, "cache", repo.CommitRequest{Records: recs, Message: msg})
	require.NoError(e.t, err)
}

func (e *cacheEnv) imageRecords(im *img) []repo.Record {
	return []repo.Record{e.put(container.ManifestPath(im.manifest), im.manifestData, container.ManifestMetadata("application/vnd.oci.image.manifest.v1+json", "", ""))}
}

// newImage makes an image of a config and layers (contents), storing
// their blobs as records of a first commit of their own.
func (e *cacheEnv) newImage(name string, layers ...string) *img {
	cfg := []byte(`{"architecture":"amd64","os":"linux","x":"` + name + `"}`)
	im := &img{config: hexOf(cfg)}
	recs := []repo.Record{e.put(container.BlobPath(im.config), cfg, map[string]string{container.MetaMediaType: "application/vnd.oci.image.config.v1+json"})}
	var ls []string
	for _, l := range layers {
		data := []byte("layer " + l)
		h := hexOf(data)
		im.layers = append(im.layers, h)
		recs = append(recs, e.put(container.BlobPath(h), data, map[string]string{container.MetaMediaType: "application/vnd.oci.image.layer.v1.tar"}))
		ls = append(ls, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}`, h, len(data)))
	}
	im.manifestData = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}`, im.config, len(cfg), strings.Join(ls, ",")))
	im.manifest = hexOf(im.manifestData)
	_, err := e.st.Commit(e.ctx, "cache", repo.CommitRequest{Records: recs, Message: "blobs of " + name})
	require.NoError(e.t, err)
	return im
}

func (e *cacheEnv) paths() map[string]bool {
	recs, err := e.st.List(e.ctx, "cache")
	require.NoError(e.t, err)
	out := map[string]bool{}
	for _, r := range recs {
		out[r.Path] = true
	}
	return out
}

func (e *cacheEnv) hasBlob(hex string) bool {
	id, err := objects.ParseID(hex)
	require.NoError(e.t, err)
	_, err = e.st.Objects().StatBlob(e.ctx, id)
	return err == nil
}

// A pull is written down at most once an hour per image and repository.
func TestPullRecordedOncePerHour(t *testing.T) {
	e := newCacheEnv(t, 0, "30d")
	cm := &countingMeta{Store: e.st.Meta()}
	rec := &container.PullRecorder{Meta: cm, Now: e.clk.Now}
	t0 := e.clk.Now()
	for range 5 {
		require.NoError(t, rec.Record(e.ctx, "cache", "v1"))
		e.clk.add(10 * time.Minute)
	}
	require.Equal(t, 1, cm.writes, "one write for five pulls within the hour")
	l, _, err := container.LoadPullLog(e.ctx, e.st.Meta(), "cache")
	require.NoError(t, err)
	require.Equal(t, t0, l.Pulled["v1"].UTC())

	require.NoError(t, rec.Record(e.ctx, "cache", "sha256:"+strings.Repeat("a", 64)))
	require.NoError(t, rec.Record(e.ctx, "other", "v1"))
	require.Equal(t, 3, cm.writes, "another image, another repository: written")

	e.clk.add(20 * time.Minute) // an hour and more since the first
	require.NoError(t, rec.Record(e.ctx, "cache", "v1"))
	require.Equal(t, 4, cm.writes)
	l, _, err = container.LoadPullLog(e.ctx, e.st.Meta(), "cache")
	require.NoError(t, err)
	require.Equal(t, e.clk.Now(), l.Pulled["v1"].UTC())

	// A second process (recorder) does not write what the first did
	// within the hour.
	rec2 := &container.PullRecorder{Meta: cm, Now: e.clk.Now}
	require.NoError(t, rec2.Record(e.ctx, "cache", "v1"))
	require.Equal(t, 4, cm.writes)
}

// Prune drops the tags not pulled within retain_unpulled, the manifests
// and blobs only they led to, as a new version; gc then frees the blobs
// no version names; pulled images, recent ones and shared layers stay.
func TestPruneUnpulled(t *testing.T) {
	// Retention keeps 4 versions: back to the caching of a, b and c.
	e := newCacheEnv(t, 4, "30d")
	rec := &container.PullRecorder{Meta: e.st.Meta(), Now: e.clk.Now}
	a := e.newImage("a", "base", "a-own")
	b := e.newImage("b", "base", "b-own")
	c := e.newImage("c", "c-own")
	e.commit("cache a b c", map[string]*img{"a": a, "b": b, "c": c})

	// Within the window nothing goes.
	e.clk.add(10 * day)
	require.NoError(t, rec.Record(e.ctx, "cache", "sha256:"+c.manifest)) // c by digest
	res, err := e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Empty(t, res.Removed)

	e.clk.add(10 * day)
	require.NoError(t, rec.Record(e.ctx, "cache", "a"))
	d := e.newImage("d", "d-own")
	e.clk.add(5 * day)
	e.commit("cache d", map[string]*img{"d": d})

	e.clk.add(6 * day) // day 31: a pulled day 20, c by digest day 10, b never, d cached day 25
	before := e.paths()
	res, err = e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Equal(t, sortedCopy([]string{
		container.BlobPath(b.config),
		container.BlobPath(b.layers[1]),
		container.ManifestPath(b.manifest),
		container.TagPath("b"),
		container.TagPath("c"),
	}), sortedCopy(res.Removed))
	require.NotZero(t, res.Version, "a version was made")
	v, err := e.st.Resolve(e.ctx, "cache")
	require.NoError(t, err)
	require.Equal(t, res.Version, v.Number)
	require.Contains(t, v.Message, "retain-unpulled 30d")
	require.Contains(t, v.Message, "b")
	after := e.paths()
	for p := range before {
		gone := false
		for _, r := range res.Removed {
			gone = gone || r == p
		}
		require.Equal(t, !gone, after[p], p)
	}
	require.True(t, after[container.ManifestPath(c.manifest)], "c's manifest, pulled by digest day 10, stays")
	require.True(t, after[container.BlobPath(a.layers[0])], "the layer a shares with b stays")

	// Nothing more to drop: no version.
	res, err = e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Empty(t, res.Removed)
	require.Zero(t, res.Version)

	// gc frees what only the dropped image held once retention let the
	// older versions go.
	_, err = e.st.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.True(t, e.hasBlob(b.layers[1]), "older versions still name b")
	for range 4 {
		_, err = e.st.Commit(e.ctx, "cache", repo.CommitRequest{AllowEmpty: true, Message: "later"})
		require.NoError(t, err)
	}
	gres, err := e.st.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Positive(t, gres.DeletedBlobs)
	require.False(t, e.hasBlob(b.layers[1]), "b's own layer is freed")
	require.False(t, e.hasBlob(b.config))
	for _, h := range []string{a.layers[0], a.layers[1], a.config, a.manifest, c.manifest, c.layers[0], d.layers[0]} {
		require.True(t, e.hasBlob(h), h)
	}
}

// Without the setting, or before it is due, nothing is pruned.
func TestPruneUnset(t *testing.T) {
	e := newCacheEnv(t, 0, "")
	a := e.newImage("a", "x")
	e.commit("cache a", map[string]*img{"a": a})
	e.clk.add(400 * day)
	res, err := e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Empty(t, res.Removed)
	require.True(t, e.paths()[container.TagPath("a")])
}

// Retention that cut the history within the window: the images the
// oldest kept version holds count from its time, written down so that a
// later prune, with less history still, counts from it too.
func TestPruneCutHistory(t *testing.T) {
	e := newCacheEnv(t, 1, "30d")
	a := e.newImage("a", "x")
	e.commit("cache a", map[string]*img{"a": a})
	e.clk.add(20 * day)
	b := e.newImage("b", "y")
	e.commit("cache b", map[string]*img{"b": b})
	e.clk.add(20 * day) // day 40: the history holds only day 20's version
	res, err := e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Empty(t, res.Removed, "a is known since day 20 only")
	e.clk.add(5 * day)
	e.commit("cache nothing", map[string]*img{"": b})
	e.clk.add(6 * day) // day 51: 31 days since day 20
	res, err = e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Contains(t, res.Removed, container.TagPath("a"))
	require.Contains(t, res.Removed, container.TagPath("b"))
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRetainUnpulledOption(t *testing.T) {
	e := newCacheEnv(t, 0, "")
	_, err := e.dists.Update(e.ctx, "cache", dist.DistSpec{Options: options.Values{container.OptRetainUnpulled: json.RawMessage(`"soon"`)}})
	require.ErrorIs(t, err, repo.ErrInvalid)
	d, err := e.dists.Update(e.ctx, "cache", dist.DistSpec{Options: options.Values{container.OptRetainUnpulled: json.RawMessage(`"12h"`)}})
	require.NoError(t, err)
	require.JSONEq(t, `"12h"`, string(d.Options[container.OptRetainUnpulled]))
}

// A manifest pushed by a sha512 digest goes with its alias; one pulled
// by its sha512 digest stays.
func TestPruneSHA512Alias(t *testing.T) {
	e := newCacheEnv(t, 0, "30d")
	rec := &container.PullRecorder{Meta: e.st.Meta(), Now: e.clk.Now}
	a := e.newImage("a", "x")
	b := e.newImage("b", "y")
	alias := func(im *img) (repo.Record, string) {
		h := format.DigestOf("sha512", im.manifestData)
		hx := strings.TrimPrefix(h, "sha512:")
		return e.put(container.ManifestPathOf("sha512", hx), im.manifestData, container.ManifestMetadata("application/vnd.oci.image.manifest.v1+json", "", "")), h
	}
	ra, da := alias(a)
	rb, _ := alias(b)
	_, err := e.st.Commit(e.ctx, "cache", repo.CommitRequest{Records: append(append(e.imageRecords(a), ra), append(e.imageRecords(b), rb)...), Message: "by sha512"})
	require.NoError(t, err)
	e.clk.add(20 * day)
	require.NoError(t, rec.Record(e.ctx, "cache", da))
	e.clk.add(20 * day)
	res, err := e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Contains(t, res.Removed, rb.Path)
	require.Contains(t, res.Removed, container.ManifestPath(b.manifest))
	require.NotContains(t, res.Removed, ra.Path)
	require.NotContains(t, res.Removed, container.ManifestPath(a.manifest))
	require.Contains(t, res.Removed, container.BlobPath(b.layers[0]))
	require.NotContains(t, res.Removed, container.BlobPath(a.layers[0]))
}

// Two processes pruning at once: one version drops the images, the
// other prune finds nothing left and fails not.
func TestPruneConcurrent(t *testing.T) {
	e := newCacheEnv(t, 0, "30d")
	for i := range 5 {
		im := e.newImage(fmt.Sprint("i", i), fmt.Sprint("l", i))
		e.commit("cache", map[string]*img{fmt.Sprint("t", i): im})
	}
	e.clk.add(40 * day)
	var wg sync.WaitGroup
	results := make([]*dist.PruneResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.dists.Prune(e.ctx, "cache", e.clk.Now())
		}()
	}
	wg.Wait()
	made := 0
	for i := range results {
		require.NoError(t, errs[i])
		if results[i].Version != 0 {
			made++
		}
	}
	require.GreaterOrEqual(t, made, 1)
	for p := range e.paths() {
		require.False(t, strings.HasPrefix(p, container.TagsDir), "tag %s left", p)
	}
}
