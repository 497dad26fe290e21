package remote

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"syscall"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/repo"
)

var (
	// ErrRemoteNotFound reports an unknown remote; it matches repo.ErrNotFound.
	ErrRemoteNotFound = wrap("remote not found", repo.ErrNotFound)
	// ErrUnknownKind reports a kind no Syncer is registered for; it
	// matches repo.ErrInvalid.
	ErrUnknownKind = wrap("unknown remote kind", repo.ErrInvalid)
	// ErrDigestMismatch reports downloaded bytes whose sha256 is not the
	// one the upstream index gives.
	ErrDigestMismatch = errors.New("sha256 mismatch")
	// ErrSizeMismatch reports downloaded bytes whose length is not the
	// one the upstream index gives.
	ErrSizeMismatch = httpx.ErrSizeMismatch
	// ErrNotOnDemand reports a record FetchBlob cannot fetch: it names no
	// upstream URL and its blob is not in the store.
	ErrNotOnDemand = wrap("record is not on-demand and its blob is not stored", repo.ErrNotFound)
	// ErrUnreachable reports an upstream that refused the connection or
	// whose host does not exist (see UnreachableError).
	ErrUnreachable = errors.New("upstream unreachable")
)

// wrapped is a sentinel that also matches its parent with errors.Is.
type wrapped struct {
	msg    string
	parent error
}

func wrap(msg string, parent error) error { return &wrapped{msg, parent} }
func (w *wrapped) Error() string          { return w.msg }
func (w *wrapped) Unwrap() error          { return w.parent }

// FileError is one package a sync could not get.
type FileError struct {
	Path string // package path in the repository
	URL  string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// SyncError reports a sync that failed because some files failed. No
// version was made; the Kept blobs that were verified stay in the store.
type SyncError struct {
	Remote, Repo string
	Total        int         // files the sync had to download
	Files        []FileError // sorted by path
	Kept         int         // verified downloads kept in the store
	Skipped      int         // files not tried after too many failures
}

// maxListed bounds how many failed files an error message names.
const maxListed = 10

func (e *SyncError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sync %s into %s: %d of %d file(s) failed, no version made", e.Remote, e.Repo, len(e.Files), e.Total)
	if e.Kept > 0 {
		fmt.Fprintf(&b, " (%d verified download(s) kept for the next sync)", e.Kept)
	}
	if e.Skipped > 0 {
		fmt.Fprintf(&b, " (%d file(s) not tried after %d failures)", e.Skipped, len(e.Files))
	}
	for i, f := range e.Files {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(e.Files)-maxListed)
			break
		}
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep + f.Error())
	}
	return b.String()
}

// Unwrap returns each file's error, so errors.Is(err, ErrDigestMismatch)
// tells whether some file had bad bytes.
func (e *SyncError) Unwrap() []error {
	out := make([]error, len(e.Files))
	for i := range e.Files {
		out[i] = &e.Files[i]
	}
	return out
}

func sortFiles(fs []FileError) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}

// UnreachableError is an upstream that could not be reached at all: it
// says what to do in one line; Err has the details.
type UnreachableError struct {
	Remote, Host string
	Refused      bool // nothing listens: the connection was refused
	Err          error
}

func (e *UnreachableError) Error() string {
	if e.Refused {
		return fmt.Sprintf("sync %s: upstream %s refuses connections (nothing listens there): start it, or fix the remote's URL (pkgvc remote update %s --url URL)", e.Remote, e.Host, e.Remote)
	}
	return fmt.Sprintf("sync %s: upstream %s: no such host: fix the remote's URL (pkgvc remote update %s --url URL)", e.Remote, e.Host, e.Remote)
}

// Unwrap returns ErrUnreachable and the cause.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// unreachable returns err as an UnreachableError when it says the
// upstream of r could not be reached (refused, or an unknown host), else
// nil.
func unreachable(r *Remote, err error) error {
	var dns *net.DNSError
	refused := errors.Is(err, syscall.ECONNREFUSED)
	if !refused && !(errors.As(err, &dns) && dns.IsNotFound) {
		return nil
	}
	host := r.URL
	if u, perr := url.Parse(r.URL); perr == nil && u.Host != "" {
		host = u.Scheme + "://" + u.Host
	}
	return &UnreachableError{Remote: r.Name, Host: host, Refused: refused, Err: err}
}
