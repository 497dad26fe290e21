package repo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// Version is one immutable repository version.
type Version struct {
	ID      objects.ID   `json:"id"`
	Repo    string       `json:"repo,omitempty"` // the repository it was reached through
	Number  int          `json:"version"`
	Tree    objects.ID   `json:"tree"`
	Parents []objects.ID `json:"parents"`
	Time    time.Time    `json:"time"`
	Author  string       `json:"author"`
	Message string       `json:"message"`
	// kind is the commit's own Kind; empty for versions made before
	// kinds were recorded (see kindOf).
	kind string
}

// String names the version as REPO@N when it was reached through a
// repository, else by its id.
func (v *Version) String() string {
	if v.Repo != "" {
		return fmt.Sprintf("%s@%d", v.Repo, v.Number)
	}
	return v.ID.String()
}

func (s *Store) version(ctx context.Context, id objects.ID) (*Version, error) {
	c, err := s.readCommit(ctx, id)
	if err != nil {
		return nil, err
	}
	parents := c.Parents
	if parents == nil {
		parents = []objects.ID{}
	}
	return &Version{ID: id, Number: c.Version, Tree: c.Tree, Parents: parents, Time: c.Time, Author: c.Author, Message: c.Message, kind: c.Kind}, nil
}

// revRE splits BASE[@N|@{K}][~K]...
var revRE = regexp.MustCompile(`^([^@~]+)(?:@(\d+)|@\{(\d+)\})?((?:~\d*)*)$`)

var hexRE = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// Resolve finds the version a revision names.
func (s *Store) Resolve(ctx context.Context, rev string) (*Version, error) {
	m := revRE.FindStringSubmatch(rev)
	if m == nil {
		return nil, fmt.Errorf("%w revision %q: use NAME, NAME@N, NAME@{K}, NAME~K or an id prefix", ErrInvalid, rev)
	}
	base, num, back, tildes := m[1], m[2], m[3], m[4]
	v, err := s.resolveBase(ctx, base, num, back)
	if err != nil {
		return nil, err
	}
	for _, t := range strings.Split(tildes, "~")[1:] {
		k := 1
		if t != "" {
			if k, err = strconv.Atoi(t); err != nil {
				return nil, fmt.Errorf("%w revision %q", ErrInvalid, rev)
			}
		}
		for ; k > 0; k-- {
			if len(v.Parents) == 0 {
				return nil, fmt.Errorf("%w: %s has no parent (%s)", ErrVersionNotFound, v, rev)
			}
			repoName := v.Repo
			nv, err := s.version(ctx, v.Parents[0])
			if errors.Is(err, objects.ErrNotFound) {
				return nil, fmt.Errorf("%w: %s lies beyond %s", ErrPruned, rev, v)
			}
			if err != nil {
				return nil, err
			}
			nv.Repo = repoName
			v = nv
		}
	}
	return v, nil
}

func (s *Store) resolveBase(ctx context.Context, base, num, back string) (*Version, error) {
	st, err := s.loadRepo(ctx, base)
	if errors.Is(err, ErrRepoNotFound) || errors.Is(err, ErrInvalid) {
		if hexRE.MatchString(base) && num == "" && back == "" {
			return s.resolveID(ctx, base)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	switch {
	case back != "":
		k, _ := strconv.Atoi(back)
		id, err := s.reflogAt(ctx, base, st.head, k)
		if err != nil {
			return nil, err
		}
		v, err := s.version(ctx, id)
		if errors.Is(err, objects.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s@{%d}", ErrPruned, base, k)
		}
		if err != nil {
			return nil, err
		}
		v.Repo = base
		return v, nil
	case num != "":
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: %s@%s: versions are numbered from 1", ErrVersionNotFound, base, num)
		}
		return s.versionNumber(ctx, st, n)
	}
	if st.head.IsZero() {
		return nil, fmt.Errorf("%w: %s has no versions yet; commit to it first", ErrVersionNotFound, base)
	}
	v, err := s.version(ctx, st.head)
	if err != nil {
		return nil, err
	}
	v.Repo = base
	return v, nil
}

// versionNumber walks NAME's first-parent history to version n.
func (s *Store) versionNumber(ctx context.Context, st *repoState, n int) (*Version, error) {
	if st.head.IsZero() {
		return nil, fmt.Errorf("%w: %s has no versions yet", ErrVersionNotFound, st.name)
	}
	h, err := s.newHistory(ctx, st)
	if err != nil {
		return nil, err
	}
	var found *Version
	err = h.firstParents(ctx, st.head, func(v *Version, boundary bool) (bool, error) {
		switch {
		case v.Number == n:
			found = v
			return false, nil
		case v.Number < n:
			return false, nil
		case boundary:
			return false, fmt.Errorf("%w: %s@%d is older than the oldest kept version %s@%d", ErrPruned, st.name, n, st.name, v.Number)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s@%d (see `pkgvc log %s`)", ErrVersionNotFound, st.name, n, st.name)
	}
	found.Repo = st.name
	return found, nil
}

// reflogAt returns where ref pointed k moves ago.
func (s *Store) reflogAt(ctx context.Context, name string, head objects.ID, k int) (objects.ID, error) {
	if k == 0 {
		if head.IsZero() {
			return head, fmt.Errorf("%w: %s has no versions yet", ErrVersionNotFound, name)
		}
		return head, nil
	}
	entries, err := s.reflog(ctx, headRef(name))
	if err != nil {
		return objects.ID{}, err
	}
	if k > len(entries) {
		return objects.ID{}, fmt.Errorf("%w: %s@{%d}: its reflog has only %d moves", ErrVersionNotFound, name, k, len(entries))
	}
	id := entries[k-1].Old
	if id.IsZero() {
		return id, fmt.Errorf("%w: %s@{%d}: %s had no version then", ErrVersionNotFound, name, k, name)
	}
	return id, nil
}

// reflog returns a ref's entries newest first.
func (s *Store) reflog(ctx context.Context, ref string) ([]refs.Entry, error) {
	var out []refs.Entry
	if err := s.refs.Log(ctx, ref, func(e refs.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (s *Store) resolveID(ctx context.Context, prefix string) (*Version, error) {
	if id, err := objects.ParseID(prefix); err == nil {
		// A whole id: read it, no listing of ids by prefix.
		data, err := s.objects.GetObject(ctx, id)
		if err == nil && isCommit(data) {
			return s.version(ctx, id)
		}
		if err != nil && !errors.Is(err, objects.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: no repository or version %q (see `pkgvc repo list`)", ErrNotFound, prefix)
	}
	ids, err := s.objects.FindObjects(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var found []objects.ID
	for _, id := range ids {
		data, err := s.objects.GetObject(ctx, id)
		if err == nil && isCommit(data) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: no repository or version %q (see `pkgvc repo list`)", ErrNotFound, prefix)
	case 1:
		return s.version(ctx, found[0])
	}
	return nil, fmt.Errorf("%w %q matches %d versions; give more digits", ErrAmbiguous, prefix, len(found))
}

// ReflogEntry is one move of a repository's head.
type ReflogEntry struct {
	Old    objects.ID `json:"old"`
	New    objects.ID `json:"new"`
	Time   time.Time  `json:"time"`
	Who    string     `json:"who"`
	Action string     `json:"action"`
}

// Reflog lists the moves of a repository's head, newest first. It works for
// deleted repositories too, for audit.
func (s *Store) Reflog(ctx context.Context, name string) ([]ReflogEntry, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	es, err := s.reflog(ctx, headRef(name))
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		if _, err := s.loadRepo(ctx, name); err != nil {
			return nil, err
		}
	}
	out := make([]ReflogEntry, len(es))
	for i, e := range es {
		out[i] = ReflogEntry{Old: e.Old, New: e.New, Time: e.Time, Who: e.Who, Action: e.Action}
	}
	return out, nil
}
