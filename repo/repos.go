package repo

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo/tree"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ValidateName checks a repository, distribution or remote name.
func ValidateName(name string) error {
	if len(name) > 128 || !nameRE.MatchString(name) {
		return fmt.Errorf("%w name %q: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// Ref names of a repository.
func headRef(name string) string   { return "repos/" + name }
func configRef(name string) string { return "config/repos/" + name }

const shallowPrefix = "shallow/"

// CreateOptions configures a new repository.
type CreateOptions struct {
	Kind   string // content kind; "file" when empty
	Retain int    // keep this many versions; 0 keeps all
}

// RepoInfo describes a repository.
type RepoInfo struct {
	Config
	Head     *Version `json:"head,omitempty"`
	Packages int      `json:"packages"`
	Bytes    int64    `json:"bytes,omitempty"`
}

// CreateRepo creates an empty repository.
func (s *Store) CreateRepo(ctx context.Context, name string, o CreateOptions) (*Config, error) {
	ctx, release, err := s.objects.Lease(ctx) // see GC
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if o.Kind == "" {
		o.Kind = "file"
	}
	if _, err := s.kinds.Lookup(o.Kind); err != nil {
		return nil, err
	}
	if o.Retain < 0 {
		return nil, fmt.Errorf("%w: --retain must be 0 (keep all) or more", ErrInvalid)
	}
	cfg := &Config{Name: name, Kind: o.Kind, Retain: o.Retain, Created: s.now()}
	data, err := encodeConfig(cfg)
	if err != nil {
		return nil, err
	}
	id, err := s.putSmall(ctx, data)
	if err != nil {
		return nil, err
	}
	err = s.refs.Apply(ctx, refs.Txn{
		Updates: []refs.Update{{Name: configRef(name), New: id}},
		Who:     s.whoFor(ctx), Action: "repo create " + name,
	})
	if errors.Is(err, refs.ErrConflict) {
		return nil, fmt.Errorf("repository %s %w", name, ErrExists)
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// repoState is a repository's refs as read at one moment.
type repoState struct {
	name     string
	configID objects.ID
	config   *Config
	head     objects.ID // zero: no version yet
}

func (s *Store) loadRepo(ctx context.Context, name string) (*repoState, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	cid, err := s.refs.Get(ctx, configRef(name))
	if errors.Is(err, refs.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s (see `pkgvc repo list`)", ErrRepoNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	data, err := s.objects.GetObject(ctx, cid)
	if err != nil {
		return nil, fmt.Errorf("repository %s config: %w", name, err)
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("repository %s config: %w", name, err)
	}
	head, err := s.refs.Get(ctx, headRef(name))
	if err != nil && !errors.Is(err, refs.ErrNotFound) {
		return nil, err
	}
	return &repoState{name: name, configID: cid, config: cfg, head: head}, nil
}

// ListRepos returns every repository's configuration, sorted by name.
func (s *Store) ListRepos(ctx context.Context) ([]RepoInfo, error) {
	var names []string
	if err := s.refs.List(ctx, "config/repos/", func(name string, _ objects.ID) error {
		names = append(names, name[len("config/repos/"):])
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]RepoInfo, 0, len(names))
	for _, n := range names {
		info, err := s.ShowRepo(ctx, n)
		if errors.Is(err, ErrRepoNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *info)
	}
	return out, nil
}

// ShowRepo describes one repository: configuration, head, package count.
func (s *Store) ShowRepo(ctx context.Context, name string) (*RepoInfo, error) {
	st, err := s.loadRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	info := &RepoInfo{Config: *st.config}
	if !st.head.IsZero() {
		v, err := s.version(ctx, st.head)
		if err != nil {
			return nil, err
		}
		v.Repo = name
		info.Head = v
		if info.Packages, err = tree.Count(ctx, s.objects, v.Tree); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// DeleteRepo removes a repository's refs. Its versions stay in the reflog
// for audit and become collectable by gc.
func (s *Store) DeleteRepo(ctx context.Context, name string) error {
	ups, err := s.DeleteRepoUpdates(ctx, name)
	if err != nil {
		return err
	}
	return s.ApplyRefs(ctx, "repo delete "+name, ups...)
}

// DeleteRepoUpdates returns the ref updates that delete repository name as
// it is now, for a caller that applies them in a transaction of its own
// (with ApplyRefs): a commit landing meanwhile makes it conflict.
func (s *Store) DeleteRepoUpdates(ctx context.Context, name string) ([]refs.Update, error) {
	st, err := s.loadRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	ups := []refs.Update{{Name: configRef(name), Old: st.configID}}
	if !st.head.IsZero() {
		ups = append(ups, refs.Update{Name: headRef(name), Old: st.head})
	}
	return ups, nil
}
