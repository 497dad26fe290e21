package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/internal/names"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// ValidateName checks a repository, distribution or remote name (the
// rule of every name in a store, see names.Validate).
func ValidateName(name string) error { return names.Validate(name) }

// headRef names a repository's head; its configuration is the metadata
// document repoKey(name), whose presence makes the repository exist.
func headRef(name string) string { return "repos/" + name }

func refUpdateDelete(name string, old objects.ID) refs.Update {
	return refs.Update{Name: name, Old: old}
}

const shallowPrefix = "shallow/"

// CreateOptions configures a new repository.
type CreateOptions struct {
	Kind   string // content kind; the registry's default when empty
	Retain int    // keep this many versions; 0 keeps all
	// Upstream records what a namespace cache made the repository for.
	Upstream *Upstream
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
		o.Kind = s.kinds.Default()
	}
	if _, err := s.kinds.Lookup(o.Kind); err != nil {
		return nil, err
	}
	if o.Retain < 0 {
		return nil, fmt.Errorf("%w: --retain must be 0 (keep all) or more", ErrInvalid)
	}
	// A head left by a deletion that stopped half way belongs to no one.
	if err := s.DropHead(ctx, name); err != nil {
		return nil, err
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	cfg := &Config{Name: name, Kind: o.Kind, Retain: o.Retain, Created: s.now(), Incarnation: hex.EncodeToString(nonce[:]), Upstream: o.Upstream}
	if _, err := s.putConfig(ctx, cfg, ""); errors.Is(err, meta.ErrConflict) {
		return nil, fmt.Errorf("repository %s %w", name, ErrExists)
	} else if err != nil {
		return nil, err
	}
	return cfg, nil
}

// putConfig stores cfg if its revision is old.
func (s *Store) putConfig(ctx context.Context, cfg *Config, old meta.Rev) (meta.Rev, error) {
	cfg.Created = cfg.Created.UTC().Truncate(time.Microsecond)
	cfg.PrunedAt = cfg.PrunedAt.UTC().Truncate(time.Microsecond)
	return meta.PutJSON(ctx, s.meta, repoKey(cfg.Name), cfg, old)
}

// repoState is a repository's configuration and head as read at one
// moment.
type repoState struct {
	name      string
	configRev meta.Rev
	config    *Config
	head      objects.ID // zero: no version yet
}

func (s *Store) loadRepo(ctx context.Context, name string) (*repoState, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var cfg Config
	rev, err := meta.GetJSON(ctx, s.meta, repoKey(name), &cfg)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s (see `pkgvc repo list`)", ErrRepoNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("repository %s config: %w", name, err)
	}
	head, err := s.refs.Get(ctx, headRef(name))
	if err != nil && !errors.Is(err, refs.ErrNotFound) {
		return nil, err
	}
	return &repoState{name: name, configRev: rev, config: &cfg, head: head}, nil
}

// ListRepos returns every repository's configuration, sorted by name.
func (s *Store) ListRepos(ctx context.Context) ([]RepoInfo, error) {
	var names []string
	if err := s.meta.List(ctx, repoPrefix, func(key string, _ []byte, _ meta.Rev) error {
		names = append(names, key[len(repoPrefix):])
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

// RepoConfig returns a repository's configuration alone: one metadata
// read, for callers that need neither its head nor its size.
func (s *Store) RepoConfig(ctx context.Context, name string) (*Config, error) {
	st, err := s.loadRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.config, nil
}

// DeleteRepo deletes a repository: its configuration, then its head. Its
// versions stay in the reflog for audit and become collectable by gc. A
// crash in between leaves a head of no repository, which nothing reads
// and which the next DeleteRepo or CreateRepo of the name removes.
func (s *Store) DeleteRepo(ctx context.Context, name string) error {
	ops, err := s.DeleteRepoOps(ctx, name)
	if err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, ops...); err != nil {
		return MetaErr(err)
	}
	return s.DropHead(ctx, name)
}
