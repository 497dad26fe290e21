package repo

import (
	"context"
	"encoding/json"
	"fmt"
)

// Actor is an optional capability of a Kind with operations of its own on
// its repositories besides commits (python's "yank"): each is named, takes
// a JSON request and changes the repository in at most one new version.
// The core runs them (Store.Act, the API's kind actions) knowing none.
type Actor interface {
	// Act runs action with request req on repository repoName of st. It
	// refuses a repository of another kind, and an action the kind does
	// not have (ErrNotFound).
	Act(ctx context.Context, st *Store, repoName, action string, req json.RawMessage) (*CommitResult, error)
}

// Act runs action of content kind kind on repository repoName (see
// Actor).
func (s *Store) Act(ctx context.Context, repoName, kind, action string, req json.RawMessage) (*CommitResult, error) {
	k, err := s.kinds.Lookup(kind)
	if err != nil {
		return nil, fmt.Errorf("%w: unknown content kind %q (known: %v)", ErrNotFound, kind, s.kinds.Names())
	}
	a, ok := k.(Actor)
	if !ok {
		return nil, fmt.Errorf("%w: content kind %s has no action %q", ErrNotFound, kind, action)
	}
	return a.Act(ctx, s, repoName, action, req)
}
