package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Prune drops from repository repoName the images not pulled within the
// distribution's retain_unpulled (dist.Pruner): the tags whose last pull
// (PullLog) or, never pulled, whose caching is older than now minus it,
// the manifests only such tags lead to (and that were neither pulled by
// digest nor cached within it), and the blobs only those manifests
// reference, as one new version saying why. Manifests an index, or a
// kept manifest as subject, leads to are kept with it. Without the
// setting nothing is dropped.
func (Kind) Prune(ctx context.Context, st *repo.Store, repoName string, opts options.Values, now time.Time) ([]string, *repo.CommitResult, error) {
	retain, err := decodeDistSettings(opts)
	if err != nil || retain <= 0 {
		return nil, nil, err
	}
	for attempt := 1; ; attempt++ {
		removes, res, err := pruneOnce(ctx, st, repoName, retainText(opts), now.Add(-retain))
		// The head moved since the plan (a pull-through added a tag, a
		// client pushed or deleted, another process pruned): plan again
		// from the new head.
		moved := errors.Is(err, repo.ErrPathNotFound) || errors.Is(err, errHeadMoved)
		if !moved || attempt == 3 {
			return removes, res, err
		}
	}
}

// testBeforePruneCommit, set by tests, runs between a prune's plan and
// its commit.
var testBeforePruneCommit func()

// errHeadMoved ends a prune commit whose plan is of an older head.
var errHeadMoved = errors.New("the repository changed while the prune was planned")

// pruneOnce plans a prune of repoName's head and commits it.
func pruneOnce(ctx context.Context, st *repo.Store, repoName, retain string, cutoff time.Time) ([]string, *repo.CommitResult, error) {
	head, err := st.RepoHead(ctx, repoName)
	if err != nil || head.IsZero() {
		return nil, nil, err
	}
	hist, err := changedSince(ctx, st, repoName, head, cutoff)
	if err != nil {
		return nil, nil, err
	}
	recs, err := st.List(ctx, head.String())
	if err != nil {
		return nil, nil, err
	}
	pulls, _, err := LoadPullLog(ctx, st.Meta(), repoName)
	if err != nil {
		return nil, nil, err
	}
	p := &pruner{st: st, hist: hist, pulls: pulls, cutoff: cutoff, seen: map[string]time.Time{}}
	removes, gone, err := p.plan(ctx, recs)
	if err != nil {
		return nil, nil, err
	}
	if err := p.noteSeen(ctx, repoName); err != nil {
		return nil, nil, err
	}
	if len(removes) == 0 {
		return nil, nil, nil
	}
	msg := fmt.Sprintf("retain-unpulled %s: drop %s, not pulled since %s: %d paths", retain, listed(gone, maxListed), cutoff.UTC().Format(time.RFC3339), len(removes))
	if testBeforePruneCommit != nil {
		testBeforePruneCommit()
	}
	res, err := st.Commit(ctx, repoName, repo.CommitRequest{Removes: removes, Message: msg,
		// The plan holds for the version it read: a tag added since may
		// name a manifest the plan drops.
		Precondition: func(_ context.Context, h repo.HeadView) error {
			if h.ID() != head {
				return errHeadMoved
			}
			return nil
		}})
	if err != nil {
		return nil, nil, err
	}
	// The log forgets what went; a failure only leaves stale entries.
	_ = forgetPulls(ctx, st.Meta(), repoName, gone)
	return removes, res, nil
}

// maxListed bounds the references a prune's message names.
const maxListed = 20

// listed joins the first n of refs, saying how many more there are.
func listed(refs []string, n int) string {
	if len(refs) <= n {
		return strings.Join(refs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(refs[:n], ", "), len(refs)-n)
}

func retainText(o options.Values) string {
	var s DistSettings
	_ = o.Decode(&s) // checked by decodeDistSettings
	return s.RetainUnpulled
}

// history is what the first-parent history of a head says of the
// paths it holds.
type history struct {
	// recent holds the paths the versions made after the cutoff added or
	// changed.
	recent map[string]bool
	// cut, when the history does not reach back to the cutoff (the first
	// version is more recent, or retention dropped older ones), is the
	// time of its oldest version: the paths not recent were cached at or
	// before it, when exactly is unknown.
	cut time.Time
}

// logPage is how many versions changedSince reads at a time.
const logPage = 64

// changedSince reads the first-parent history of repository repoName's
// version head back to cutoff, as its log shows it (retention's
// boundary included).
func changedSince(ctx context.Context, st *repo.Store, repoName string, head objects.ID, cutoff time.Time) (*history, error) {
	h := &history{recent: map[string]bool{}}
	v, err := st.Version(ctx, head)
	if err != nil {
		return nil, err
	}
	for n := v.Number; ; {
		page, err := st.Log(ctx, fmt.Sprintf("%s@%d", repoName, n), logPage)
		if err != nil {
			return nil, err
		}
		for i := range page {
			v := &page[i]
			if !v.Time.After(cutoff) {
				return h, nil
			}
			if len(v.Parents) == 0 || v.Shallow {
				h.cut = v.Time // the first version, or retention's boundary
				return h, nil
			}
			var parentTree objects.ID
			if i+1 < len(page) {
				parentTree = page[i+1].Tree
			} else {
				pv, err := st.Version(ctx, v.Parents[0])
				if err != nil {
					return nil, err
				}
				parentTree = pv.Tree
			}
			err := tree.Diff(ctx, st.Objects(), parentTree, v.Tree, func(_, n *tree.Entry) error {
				if n != nil {
					h.recent[n.Path] = true
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		if len(page) < logPage {
			return h, nil // the log ended without a first version
		}
		n = page[len(page)-1].Number - 1
	}
}

// pruner plans a prune of one version's records.
type pruner struct {
	st     *repo.Store
	hist   *history
	pulls  *PullLog
	cutoff time.Time
	// seen are the Seen times to write down (see PullLog.Seen).
	seen map[string]time.Time

	byPath    map[string]repo.Record
	manifests map[objects.ID][]repo.Record    // by content: its sha256 path and sha512 aliases
	parsed    map[objects.ID]*format.Manifest // nil: unreadable
	keep      map[objects.ID]bool             // manifests kept
}

// fresh reports whether ref was pulled, or path cached, since cutoff. A
// pull is written down once per PullEvery at most: a later pull than the
// log's may be up to that much more recent.
func (p *pruner) fresh(ref, path string) bool {
	if p.hist.recent[path] || !p.pulls.Pulled[ref].Before(p.cutoff.Add(-PullEvery)) {
		return true
	}
	if p.hist.cut.IsZero() {
		return false
	}
	since, ok := p.pulls.Seen[ref]
	if !ok || since.After(p.hist.cut) {
		since = p.hist.cut
		p.seen[ref] = since
	}
	return since.After(p.cutoff)
}

// noteSeen writes down the Seen times fresh learnt, so that a later
// prune, with less history still, counts from them.
func (p *pruner) noteSeen(ctx context.Context, repoName string) error {
	if len(p.seen) == 0 {
		return nil
	}
	return updatePullLog(ctx, p.st.Meta(), repoName, func(l *PullLog) bool {
		if l.Seen == nil {
			l.Seen = map[string]time.Time{}
		}
		changed := false
		for ref, at := range p.seen {
			if old, ok := l.Seen[ref]; !ok || at.Before(old) {
				l.Seen[ref] = at.UTC()
				changed = true
			}
		}
		return changed
	})
}

// manifestByDigest returns the content of the manifest with digest d
// that the version holds.
func (p *pruner) manifestByDigest(d string) (objects.ID, bool) {
	alg, hx, err := format.ParseDigestAlg(d)
	if err != nil {
		return objects.ID{}, false
	}
	r, ok := p.byPath[ManifestPathOf(alg, hx)]
	return r.SHA256, ok
}

// plan returns the paths to remove and the references (tags, digests)
// of the images they dropped.
func (p *pruner) plan(ctx context.Context, recs []repo.Record) ([]string, []string, error) {
	p.byPath = make(map[string]repo.Record, len(recs))
	p.manifests = map[objects.ID][]repo.Record{}
	p.parsed = map[objects.ID]*format.Manifest{}
	p.keep = map[objects.ID]bool{}
	var tags []repo.Record
	for _, r := range recs {
		p.byPath[r.Path] = r
		switch {
		case strings.HasPrefix(r.Path, TagsDir):
			tags = append(tags, r)
		case strings.HasPrefix(r.Path, "manifests/"):
			p.manifests[r.SHA256] = append(p.manifests[r.SHA256], r)
		}
	}
	var removes, gone []string
	for _, t := range tags {
		tag := strings.TrimPrefix(t.Path, TagsDir)
		if p.fresh(tag, t.Path) {
			if err := p.mark(ctx, t.SHA256); err != nil {
				return nil, nil, err
			}
			continue
		}
		removes = append(removes, t.Path)
		gone = append(gone, tag)
	}
	for id, rs := range p.manifests {
		for _, r := range rs {
			if p.fresh(ManifestRef(r.Path), r.Path) {
				if err := p.mark(ctx, id); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	if err := p.markReferrers(ctx); err != nil {
		return nil, nil, err
	}
	// Blobs a kept manifest references stay; those only dropped ones
	// referenced go. Blobs no manifest references are not this prune's.
	keptBlobs, droppedBlobs := map[string]bool{}, map[string]bool{}
	for id := range p.manifests {
		m, err := p.manifest(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if m == nil {
			p.keep[id] = true // unreadable: not ours to judge
			continue
		}
		to := droppedBlobs
		if p.keep[id] {
			to = keptBlobs
		}
		for _, d := range m.Blobs() {
			if alg, hx, err := format.ParseDigestAlg(d.Digest); err == nil {
				to[BlobPathOf(alg, hx)] = true
			}
		}
	}
	for id, rs := range p.manifests {
		if p.keep[id] {
			continue
		}
		for _, r := range rs {
			removes = append(removes, r.Path)
			gone = append(gone, ManifestRef(r.Path))
		}
	}
	for b := range droppedBlobs {
		if _, ok := p.byPath[b]; ok && !keptBlobs[b] {
			removes = append(removes, b)
		}
	}
	slices.Sort(removes)
	slices.Sort(gone)
	return removes, gone, nil
}

// mark keeps manifest id and what it leads to (an index's manifests).
func (p *pruner) mark(ctx context.Context, id objects.ID) error {
	if p.keep[id] {
		return nil
	}
	if _, ok := p.manifests[id]; !ok {
		return nil
	}
	p.keep[id] = true
	m, err := p.manifest(ctx, id)
	if err != nil || m == nil {
		return err
	}
	for _, d := range m.Manifests {
		if child, ok := p.manifestByDigest(d.Digest); ok {
			if err := p.mark(ctx, child); err != nil {
				return err
			}
		}
	}
	return nil
}

// markReferrers keeps the manifests whose subject is kept (signatures,
// attestations), until none is added.
func (p *pruner) markReferrers(ctx context.Context) error {
	for more := true; more; {
		more = false
		for id, rs := range p.manifests {
			if p.keep[id] {
				continue
			}
			for _, r := range rs {
				if subj, ok := p.manifestByDigest(r.Metadata[MetaSubject]); ok && p.keep[subj] {
					if err := p.mark(ctx, id); err != nil {
						return err
					}
					more = true
					break
				}
			}
		}
	}
	return nil
}

// manifest parses manifest id once; nil when its content is missing or
// not a manifest.
func (p *pruner) manifest(ctx context.Context, id objects.ID) (*format.Manifest, error) {
	if m, ok := p.parsed[id]; ok {
		return m, nil
	}
	m, err := LoadManifest(ctx, p.st, p.manifests[id][0])
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	p.parsed[id] = m // nil on error
	return m, nil
}

// LoadManifest reads and parses the manifest record r names, at most
// format.MaxManifestSize bytes.
func LoadManifest(ctx context.Context, st *repo.Store, r repo.Record) (*format.Manifest, error) {
	if r.Size > format.MaxManifestSize {
		return nil, format.ErrManifestTooLarge
	}
	rc, err := st.Objects().OpenBlob(ctx, r.SHA256)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, format.MaxManifestSize+1))
	if err != nil {
		return nil, err
	}
	return format.Parse(r.Metadata[MetaMediaType], data)
}
