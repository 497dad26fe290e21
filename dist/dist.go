package dist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/repo"
)

var (
	// ErrDistNotFound reports an unknown distribution.
	ErrDistNotFound = fmt.Errorf("distribution %w", repo.ErrNotFound)
	// ErrBasePath reports an invalid or clashing base path.
	ErrBasePath = fmt.Errorf("base path %w", repo.ErrInvalid)
	// ErrInUse reports a repository that distributions still follow, or a
	// remote they pull through.
	ErrInUse = errors.New("in use")
	// ErrDistMoved reports a distribution that serves another version
	// than the one a reader of it is copying.
	ErrDistMoved = fmt.Errorf("distribution serves another version: %w", repo.ErrConflict)
)

// Distribution exposes one repository version at a base path.
type Distribution struct {
	Name     string `json:"name"`
	BasePath string `json:"base_path"`
	// Repo is the repository whose latest version is served, or
	Repo string `json:"repo,omitempty"`
	// Version is the pinned version (zero when following Repo).
	Version objects.ID `json:"version,omitzero"`
	// PinnedFrom is the repository a pinned Version was named through
	// (dev@5, dev~2), whose readers may read the distribution; empty when
	// following Repo or pinned by a bare id.
	PinnedFrom string `json:"pinned_from,omitempty"`
	// Kind is the content kind served, which decides the publication.
	Kind string `json:"kind"`
	// Remote, when set, lets requests for missing content pull through it.
	Remote string `json:"remote,omitempty"`
	// PullThroughTTL is how long content pulled under a mutable name (a
	// container tag) is served before the remote is asked again; zero
	// means DefaultPullThroughTTL.
	PullThroughTTL time.Duration `json:"pull_through_ttl,omitempty"`
	Private        bool          `json:"private,omitempty"`
	// Options are the settings the kind gives its distributions (an apt
	// suite, components), declared by its OptionDeclarer.
	Options options.Values `json:"options,omitempty"`
	Created time.Time      `json:"created"`
	// Cache, never stored, is set on the distribution a namespace cache
	// makes for one upstream project (see Namespace): the project and
	// the repository caching it (Repo; empty until its first pull).
	Cache *repo.Upstream `json:"-"`
}

// ServedRepo is the repository d serves, whose readers may read it when
// it is private: the one it follows, or the one its pinned version was
// named through; empty for a version pinned by a bare id.
func (d *Distribution) ServedRepo() string {
	if d.Repo != "" {
		return d.Repo
	}
	return d.PinnedFrom
}

// BasePathRule is implemented by content kinds (the store's repo.Kind
// values) whose distributions' base paths must be more than a path (a
// container distribution's is its image name).
type BasePathRule interface {
	// ValidateBasePath checks the base path of a distribution of the
	// kind; its error says what the base path should be.
	ValidateBasePath(basePath string) error
}

// OptionDeclarer is implemented by content kinds (the store's repo.Kind
// values) whose distributions have settings of their own (an apt suite,
// the components published): the options it declares are the only ones a
// distribution of the kind may hold, and CheckDistOptions decodes and
// checks them.
type OptionDeclarer interface {
	DistOptions() []options.Spec
	CheckDistOptions(o options.Values) error
}

// Metadata keys of a distribution: its document, and the pin that keeps
// the version it is pinned to (if any) from gc.
func docKey(name string) string { return DocPrefix + name }
func pinKey(name string) string { return repo.PinPrefix + DocPrefix + name }

// DocPrefix begins the metadata key of every distribution document.
const DocPrefix = "dists/"

// DistSpec is what `dist create` and `dist update` set. In an update, empty
// fields keep their value.
type DistSpec struct {
	BasePath string
	Repo     string // follow this repository, or
	Version  string // pin this revision
	Remote   string
	Private  *bool
	// PullThroughTTL, when set, replaces Distribution.PullThroughTTL.
	PullThroughTTL *time.Duration
	// Options set the kind's settings; in an update, a zero value
	// clears its setting and settings not named keep their value.
	Options options.Values
}

// Dists manages distributions in a store.
type Dists struct {
	st      *repo.Store
	remotes RemoteRefs
	// legacyKind is the kind an older pkgvc gave every distribution
	// pinned by version id (see FixPinnedKinds).
	legacyKind string
}

// Store returns the store whose distributions d manages.
func (d *Dists) Store() *repo.Store { return d.st }

// RemoteRefs finds remotes for Dists (remote.Manager is one).
type RemoteRefs interface {
	// RemoteDoc returns the metadata key of remote name's document, its
	// value and revision; an unknown name is an error matching
	// repo.ErrNotFound.
	RemoteDoc(ctx context.Context, name string) (string, []byte, meta.Rev, error)
}

// RemoteKinds is an optional capability of RemoteRefs (remote.Manager has
// it): a remote's content kind, which must be its distribution's.
type RemoteKinds interface {
	RemoteKind(ctx context.Context, name string) (string, error)
}

// DistsOption configures Dists.
type DistsOption func(*Dists)

// WithRemotes makes a distribution name only a remote that exists, checked
// in the transaction that sets it (so a concurrent delete of the remote
// makes one of the two fail), and lets DeleteRemote delete remotes.
func WithRemotes(r RemoteRefs) DistsOption { return func(d *Dists) { d.remotes = r } }

// WithLegacyKind names the kind an older pkgvc gave every distribution
// pinned by version id, whatever the version held: FixPinnedKinds needs
// it.
func WithLegacyKind(kind string) DistsOption { return func(d *Dists) { d.legacyKind = kind } }

// NewDists returns the distribution manager of st.
func NewDists(st *repo.Store, opts ...DistsOption) *Dists {
	d := &Dists{st: st}
	for _, o := range opts {
		o(d)
	}
	return d
}

// remoteCheck returns the op that keeps remote name as it is (storing
// its value again) until the change naming it lands; none without
// WithRemotes.
func (d *Dists) remoteCheck(ctx context.Context, name string) ([]meta.Op, error) {
	if name == "" || d.remotes == nil {
		return nil, nil
	}
	key, value, rev, err := d.remotes.RemoteDoc(ctx, name)
	if err != nil {
		return nil, err
	}
	return []meta.Op{{Key: key, Old: rev, Value: value}}, nil
}

// ValidateBasePath checks a base path: '/'-separated segments, each a
// valid package path segment.
func ValidateBasePath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w %q: give segments separated by '/', without leading or trailing '/'", ErrBasePath, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg != "" && strings.Trim(seg, ".") == "" {
			return fmt.Errorf("%w %q: '.' and '..' segments are not allowed", ErrBasePath, p)
		}
		if err := repo.ValidateName(seg); err != nil {
			return fmt.Errorf("%w %q: segment %q: use lower-case letters, digits, '.', '_' and '-'", ErrBasePath, p, seg)
		}
	}
	return nil
}

// overlaps reports whether one base path sits inside the other (or equals it).
func overlaps(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// Create makes a distribution.
func (d *Dists) Create(ctx context.Context, name string, spec DistSpec) (*Distribution, error) {
	if err := repo.ValidateName(name); err != nil {
		return nil, err
	}
	var dist *Distribution
	err := d.change(ctx, func(ctx context.Context) ([]meta.Op, error) {
		if _, err := d.get(ctx, name); err == nil {
			return nil, fmt.Errorf("distribution %s %w", name, repo.ErrExists)
		} else if !errors.Is(err, ErrDistNotFound) {
			return nil, err
		}
		dist = &Distribution{Name: name, BasePath: spec.BasePath, Remote: spec.Remote, Options: options.Values{}.Merge(spec.Options), Created: time.Now().UTC()}
		if spec.Private != nil {
			dist.Private = *spec.Private
		}
		if spec.PullThroughTTL != nil {
			dist.PullThroughTTL = *spec.PullThroughTTL
		}
		ops, err := d.target(ctx, dist, spec, objects.ID{})
		if err != nil {
			return nil, err
		}
		if err := d.checkDist(ctx, dist); err != nil {
			return nil, err
		}
		check, err := d.remoteCheck(ctx, spec.Remote)
		if err != nil {
			return nil, err
		}
		if err := d.checkRemoteKind(ctx, dist); err != nil {
			return nil, err
		}
		doc, err := docOp(dist, "")
		if err != nil {
			return nil, err
		}
		return append(append(ops, check...), doc), nil
	})
	if err != nil {
		return nil, err
	}
	return dist, nil
}

// setKey names a document that every create, update and delete of a
// distribution replaces, in the same batch as the change itself: a change
// checks base paths against the distributions there were when it read
// setKey, so of two concurrent changes that could clash, the second to
// land finds setKey changed, and checks again.
const setKey = "dist-set"

// distSet is setKey's document; Seq counts changes.
type distSet struct {
	Seq uint64 `json:"seq"`
}

// maxChangeAttempts bounds how often a change of distributions is tried
// again after another process's change landed first.
const maxChangeAttempts = 8

// change applies the metadata ops build returns, with the change of
// setKey, in one batch; build runs again, on what is there then, while
// another change of distributions lands first.
//
// It holds a lease on the object store (see repo.Store.GC) from reading the
// version a pin names until the pin lands, so that gc's sweep sees the pin
// before it deletes anything.
func (d *Dists) change(ctx context.Context, build func(ctx context.Context) ([]meta.Op, error)) error {
	ctx, release, err := d.st.Objects().Lease(ctx)
	if err != nil {
		return err
	}
	defer release()
	m := d.st.Meta()
	for attempt := 1; ; attempt++ {
		var set distSet
		setRev, err := meta.GetJSON(ctx, m, setKey, &set)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		ops, err := build(ctx)
		if err != nil {
			return err
		}
		next, err := json.Marshal(distSet{Seq: set.Seq + 1})
		if err != nil {
			return err
		}
		_, err = m.Apply(ctx, append(ops, meta.Op{Key: setKey, Old: setRev, Value: next})...)
		if !errors.Is(err, meta.ErrConflict) || attempt == maxChangeAttempts {
			return repo.MetaErr(err)
		}
	}
}

// docOp returns the op storing dist's document, whose revision is old.
func docOp(dist *Distribution, old meta.Rev) (meta.Op, error) {
	data, err := json.Marshal(dist)
	if err != nil {
		return meta.Op{}, err
	}
	return meta.Op{Key: docKey(dist.Name), Old: old, Value: data}, nil
}

// target fills dist's Repo or Version from spec and returns the change of
// its pin, which currently pins oldPin.
func (d *Dists) target(ctx context.Context, dist *Distribution, spec DistSpec, oldPin objects.ID) ([]meta.Op, error) {
	switch {
	case spec.Repo != "" && spec.Version != "":
		return nil, fmt.Errorf("%w: give --repo (follow its latest version) or --version (pin one), not both", repo.ErrInvalid)
	case spec.Repo != "":
		info, err := d.st.ShowRepo(ctx, spec.Repo)
		if err != nil {
			return nil, err
		}
		dist.Repo, dist.Version, dist.PinnedFrom, dist.Kind = spec.Repo, objects.ID{}, "", info.Kind
	case spec.Version != "":
		v, err := d.st.Resolve(ctx, spec.Version)
		if err != nil {
			return nil, err
		}
		kind, err := d.pinKind(ctx, dist, v)
		if err != nil {
			return nil, err
		}
		// v.Repo is set only when spec named a repository.
		dist.Repo, dist.Version, dist.PinnedFrom, dist.Kind = "", v.ID, v.Repo, kind
	case dist.Repo == "" && dist.Version.IsZero():
		return d.namespaceTarget(ctx, dist)
	}
	if dist.Version == oldPin {
		return nil, nil
	}
	op, err := d.pinOp(ctx, dist.Name, dist.Version)
	if err != nil {
		return nil, err
	}
	return []meta.Op{op}, nil
}

// pinOp returns the op making distribution name's pin keep version id (the
// zero id: none).
func (d *Dists) pinOp(ctx context.Context, name string, id objects.ID) (meta.Op, error) {
	_, rev, err := d.st.Meta().Get(ctx, pinKey(name))
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return meta.Op{}, err
	}
	var ids []objects.ID
	if !id.IsZero() {
		ids = []objects.ID{id}
	}
	return repo.PinOp(pinKey(name), ids, rev)
}

// pinKind returns the kind of version v, to be pinned in dist: the
// version's own, which must be that of the repository it was named
// through, and, for a pinned distribution, the one it serves.
func (d *Dists) pinKind(ctx context.Context, dist *Distribution, v *repo.Version) (string, error) {
	kind, err := d.st.ReachedKind(ctx, v)
	if err != nil {
		return "", err
	}
	if v.Repo != "" {
		info, err := d.st.ShowRepo(ctx, v.Repo)
		if err != nil {
			return "", err
		}
		if info.Kind != kind {
			return "", fmt.Errorf("%w: cannot pin distribution %s to %s: a %s version in %s repository %s", repo.ErrKindMismatch, dist.Name, v, kind, info.Kind, v.Repo)
		}
	}
	if !dist.Version.IsZero() && dist.Kind != "" && dist.Kind != kind {
		return "", fmt.Errorf("%w: cannot pin %s distribution %s to a %s version (%s); create another distribution for it", repo.ErrKindMismatch, dist.Kind, dist.Name, kind, v)
	}
	return kind, nil
}

// checkRemoteKind refuses a remote of another kind than the content dist
// serves: what it pulls through joins that content.
func (d *Dists) checkRemoteKind(ctx context.Context, dist *Distribution) error {
	rk, ok := d.remotes.(RemoteKinds)
	if dist.Remote == "" || !ok {
		return nil
	}
	kind, err := rk.RemoteKind(ctx, dist.Remote)
	if err != nil {
		return err
	}
	if kind != dist.Kind {
		return fmt.Errorf("%w: remote %s is a %s remote; distribution %s serves %s content: give a %s remote", repo.ErrKindMismatch, dist.Remote, kind, dist.Name, dist.Kind, dist.Kind)
	}
	return d.checkNamespaceRepo(ctx, dist)
}

// checkDist checks a distribution before it is stored: its base path (the
// kind's rule, no clash with another), its TTL and its kind's options.
func (d *Dists) checkDist(ctx context.Context, dist *Distribution) error {
	if err := validateBasePathOf(dist); err != nil {
		return err
	}
	if dist.PullThroughTTL < 0 {
		return fmt.Errorf("%w: pull-through TTL %s is negative", repo.ErrInvalid, dist.PullThroughTTL)
	}
	var od OptionDeclarer // nil: the kind declares no options
	if k, err := d.st.Kinds().Lookup(dist.Kind); err == nil {
		if rule, ok := k.(BasePathRule); ok && dist.BasePath != RootBasePath {
			if err := rule.ValidateBasePath(dist.BasePath); err != nil {
				return fmt.Errorf("%w %q: %w", ErrBasePath, dist.BasePath, err)
			}
		}
		od, _ = k.(OptionDeclarer)
	}
	var declared []options.Spec
	if od != nil {
		declared = od.DistOptions()
	}
	if err := options.Check(dist.Options, declared, dist.Kind+" distributions"); err != nil {
		return fmt.Errorf("%w distribution %s: %w", repo.ErrInvalid, dist.Name, err)
	}
	if od != nil {
		if err := od.CheckDistOptions(dist.Options); err != nil {
			return fmt.Errorf("%w distribution %s: %w", repo.ErrInvalid, dist.Name, err)
		}
	}
	all, err := d.List(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Name != dist.Name && clashes(&o, dist) {
			return fmt.Errorf("%w: %q clashes with distribution %s at %q (base paths may not equal or contain each other)", ErrBasePath, dist.BasePath, o.Name, o.BasePath)
		}
	}
	return nil
}

func (d *Dists) get(ctx context.Context, name string) (*docState, error) {
	if err := repo.ValidateName(name); err != nil {
		return nil, err
	}
	var dist Distribution
	rev, err := meta.GetJSON(ctx, d.st.Meta(), docKey(name), &dist)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s (see `pkgvc dist list`)", ErrDistNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("distribution %s: %w", name, err)
	}
	return &docState{rev: rev, dist: &dist}, nil
}

type docState struct {
	rev  meta.Rev
	dist *Distribution
}

// Get returns one distribution.
func (d *Dists) Get(ctx context.Context, name string) (*Distribution, error) {
	s, err := d.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.dist, nil
}

// List returns every distribution sorted by name.
func (d *Dists) List(ctx context.Context) ([]Distribution, error) {
	out := []Distribution{}
	if err := d.st.Meta().List(ctx, DocPrefix, func(key string, value []byte, _ meta.Rev) error {
		var dist Distribution
		if err := json.Unmarshal(value, &dist); err != nil {
			return fmt.Errorf("distribution %s: %w", strings.TrimPrefix(key, DocPrefix), err)
		}
		out = append(out, dist)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Update changes a distribution's base path, target, remote or privacy.
func (d *Dists) Update(ctx context.Context, name string, spec DistSpec) (*Distribution, error) {
	var dist Distribution
	err := d.change(ctx, func(ctx context.Context) ([]meta.Op, error) {
		s, err := d.get(ctx, name)
		if err != nil {
			return nil, err
		}
		dist = *s.dist
		if spec.BasePath != "" {
			dist.BasePath = spec.BasePath
		}
		if spec.Remote != "" {
			dist.Remote = spec.Remote
		}
		if spec.Private != nil {
			dist.Private = *spec.Private
		}
		if spec.PullThroughTTL != nil {
			dist.PullThroughTTL = *spec.PullThroughTTL
		}
		if spec.Options != nil {
			dist.Options = dist.Options.Merge(spec.Options)
		}
		ops, err := d.target(ctx, &dist, spec, s.dist.Version)
		if err != nil {
			return nil, err
		}
		if err := d.checkDist(ctx, &dist); err != nil {
			return nil, err
		}
		check, err := d.remoteCheck(ctx, spec.Remote)
		if err != nil {
			return nil, err
		}
		if spec.Remote != "" || spec.Repo != "" || spec.Version != "" {
			if err := d.checkRemoteKind(ctx, &dist); err != nil {
				return nil, err
			}
		}
		doc, err := docOp(&dist, s.rev)
		if err != nil {
			return nil, err
		}
		return append(append(ops, check...), doc), nil
	})
	if err != nil {
		return nil, err
	}
	return &dist, nil
}

// Delete removes a distribution; the content it served stays in its
// repository.
func (d *Dists) Delete(ctx context.Context, name string) error {
	return d.change(ctx, func(ctx context.Context) ([]meta.Op, error) {
		s, err := d.get(ctx, name)
		if err != nil {
			return nil, err
		}
		ops := []meta.Op{{Key: docKey(name), Old: s.rev}}
		if !s.dist.Version.IsZero() {
			pin, err := d.pinOp(ctx, name, objects.ID{})
			if err != nil {
				return nil, err
			}
			ops = append(ops, pin)
		}
		return ops, nil
	})
}

// DeleteRepo deletes a repository, refusing while distributions follow it
// unless force is set. The check and the deletion land together, as
// distribution changes do (see setKey): a distribution created meanwhile to
// follow the repository makes it check again. The repository's head goes
// once its configuration has (see repo.Store.DeleteRepo).
func (d *Dists) DeleteRepo(ctx context.Context, name string, force bool) error {
	err := d.change(ctx, func(ctx context.Context) ([]meta.Op, error) {
		if !force {
			all, err := d.List(ctx)
			if err != nil {
				return nil, err
			}
			var users []string
			for _, o := range all {
				if o.Repo == name {
					users = append(users, o.Name)
				}
			}
			if len(users) > 0 {
				return nil, fmt.Errorf("repository %s is %w: distribution(s) %s follow it; delete or update them first, or pass --force", name, ErrInUse, strings.Join(users, ", "))
			}
		}
		return d.st.DeleteRepoOps(ctx, name)
	})
	if err != nil {
		return err
	}
	return d.st.DropHead(ctx, name)
}

// DeleteRemote deletes remote name (needs WithRemotes), refusing while
// distributions pull through it unless force is set; with force those
// distributions stop pulling through (their Remote is cleared) in the same
// transaction, and their names are returned. As in DeleteRepo, a
// distribution set to use the remote meanwhile makes it check again.
func (d *Dists) DeleteRemote(ctx context.Context, name string, force bool) ([]string, error) {
	if d.remotes == nil {
		return nil, errors.New("delete remote: distributions were opened without remotes")
	}
	var detached []string
	err := d.change(ctx, func(ctx context.Context) ([]meta.Op, error) {
		key, _, rev, err := d.remotes.RemoteDoc(ctx, name)
		if err != nil {
			return nil, err
		}
		all, err := d.List(ctx)
		if err != nil {
			return nil, err
		}
		detached = nil
		var ops []meta.Op
		for _, o := range all {
			if o.Remote != name {
				continue
			}
			if o.Namespace() {
				return nil, fmt.Errorf("remote %s is %w: distribution %s caches its namespace and cannot do without it; delete that distribution first", name, ErrInUse, o.Name)
			}
			detached = append(detached, o.Name)
			if !force {
				continue
			}
			s, err := d.get(ctx, o.Name)
			if err != nil {
				return nil, err
			}
			dist := *s.dist
			dist.Remote = ""
			doc, err := docOp(&dist, s.rev)
			if err != nil {
				return nil, err
			}
			ops = append(ops, doc)
		}
		if len(detached) > 0 && !force {
			return nil, fmt.Errorf("remote %s is %w: distribution(s) %s pull through it; update or delete them first, or pass --force to detach them (they stop pulling through)", name, ErrInUse, strings.Join(detached, ", "))
		}
		return append(ops, meta.Op{Key: key, Old: rev}), nil
	})
	if err != nil {
		return nil, err
	}
	return detached, nil
}

// Resolve returns the version a distribution serves now, or nil if it
// follows a repository with no versions yet.
func (d *Dists) Resolve(ctx context.Context, dist *Distribution) (*repo.Version, error) {
	if dist.Namespace() {
		return nil, fmt.Errorf("%w: distribution %s caches a namespace of remote %s: each project is a repository of its own (see `pkgvc repo list`), not one version", repo.ErrVersionNotFound, dist.Name, dist.Remote)
	}
	if !dist.Version.IsZero() {
		return d.st.Version(ctx, dist.Version)
	}
	head, err := d.st.RepoHead(ctx, dist.Repo)
	if err != nil {
		return nil, err
	}
	if head.IsZero() {
		return nil, nil
	}
	v, err := d.st.Version(ctx, head)
	if err != nil {
		return nil, err
	}
	v.Repo = dist.Repo
	return v, nil
}

// Match finds the distribution whose base path is the longest prefix of
// urlPath (without leading '/') and returns it with the rest of the path.
func Match(dists []Distribution, urlPath string) (*Distribution, string, bool) {
	var best *Distribution
	for i := range dists {
		bp := dists[i].BasePath
		if urlPath == bp || strings.HasPrefix(urlPath, bp+"/") {
			if best == nil || len(bp) > len(best.BasePath) {
				best = &dists[i]
			}
		}
	}
	if best == nil {
		return nil, "", false
	}
	return best, strings.TrimPrefix(strings.TrimPrefix(urlPath, best.BasePath), "/"), true
}

// FixPinnedKinds gives each distribution pinned to a version the kind of
// that version, as Create does now: an older pkgvc gave a distribution
// pinned by a full version id the legacy kind (WithLegacyKind: plain
// files), whatever the version held. It
// returns the names of the distributions it changed. `pkgvc upgrade` runs
// it once the versions' kinds are recorded; a pinned version no
// repository keeps, and so without a recorded kind, gets the kind other
// than the legacy one the distributions pinning it agree on (the legacy
// kind if none has another).
func (d *Dists) FixPinnedKinds(ctx context.Context) ([]string, error) {
	legacy := d.legacyKind
	if legacy == "" {
		return nil, errors.New("dist: FixPinnedKinds needs WithLegacyKind")
	}
	dists, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	// Kinds other than the legacy one that distributions give each
	// version no repository keeps: an older pkgvc gave those pinned
	// through a repository its kind, those pinned by id the legacy one.
	orphans := map[objects.ID]map[string]bool{}
	for _, dist := range dists {
		if dist.Version.IsZero() {
			continue
		}
		if _, err := d.st.VersionKind(ctx, dist.Version); !errors.Is(err, repo.ErrNeedsUpgrade) {
			continue // known, or missing (fsck reports a pin of a missing version)
		}
		if orphans[dist.Version] == nil {
			orphans[dist.Version] = map[string]bool{}
		}
		if dist.Kind != "" && dist.Kind != legacy {
			orphans[dist.Version][dist.Kind] = true
		}
	}
	for id, kinds := range orphans {
		kind := legacy
		switch len(kinds) {
		case 0:
		case 1:
			for k := range kinds {
				kind = k
			}
		default:
			continue // they disagree: left as they are, for fsck and the user
		}
		if err := d.st.RecordVersionKind(ctx, id, kind); err != nil {
			return nil, fmt.Errorf("version %s: %w", id, err)
		}
	}
	var fixed []string
	err = d.change(ctx, func(ctx context.Context) ([]meta.Op, error) {
		fixed = fixed[:0]
		var ops []meta.Op
		err := d.st.Meta().List(ctx, DocPrefix, func(key string, value []byte, rev meta.Rev) error {
			var dist Distribution
			if err := json.Unmarshal(value, &dist); err != nil {
				return fmt.Errorf("distribution %s: %w", strings.TrimPrefix(key, DocPrefix), err)
			}
			if dist.Version.IsZero() {
				return nil
			}
			kind, err := d.st.VersionKind(ctx, dist.Version)
			if errors.Is(err, objects.ErrNotFound) || errors.Is(err, repo.ErrNeedsUpgrade) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("distribution %s: %w", dist.Name, err)
			}
			if kind == dist.Kind {
				return nil
			}
			dist.Kind = kind
			op, err := docOp(&dist, rev)
			if err != nil {
				return err
			}
			ops = append(ops, op)
			fixed = append(fixed, dist.Name)
			return nil
		})
		return ops, err
	})
	if err != nil {
		return nil, err
	}
	return fixed, nil
}
