package wire

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// Error is the body of every error response.
type Error struct {
	// Code is machine-readable: see Codes.
	Code string `json:"code" doc:"Machine-readable error code, e.g. not_found, forbidden, not_fast_forward."`
	// Message is for people.
	Message string `json:"message" doc:"Human-readable explanation."`
	// Offset is the upload's received offset, on offset_mismatch.
	Offset *int64 `json:"offset,omitempty" doc:"Bytes the upload holds (offset_mismatch only)."`

	status int
	err    error // the cause, for errors.Is on this side
}

// NewError is an Error answered with HTTP status, whose cause (for
// errors.Is on the side that made it) is err.
func NewError(status int, code, message string, err error) *Error {
	return &Error{Code: code, Message: message, status: status, err: err}
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.err }

// GetStatus returns the HTTP status (huma.StatusError).
func (e *Error) GetStatus() int { return e.status }

// Code maps a sentinel error to an error code and HTTP status. Codes lists
// them most specific first: the server answers the first one an error
// matches, the client turns a code back into its sentinel.
type Code struct {
	Code   string
	Status int
	Err    error
}

// Errors the API distinguishes, beyond the sentinels.
var (
	// ErrOffsetMismatch reports a chunk that does not start where the
	// upload ends.
	ErrOffsetMismatch = fmt.Errorf("upload offset mismatch: %w", repo.ErrConflict)
	// ErrDigestMismatch reports an upload whose bytes do not have the
	// sha256 the client gave.
	ErrDigestMismatch = fmt.Errorf("sha256 mismatch: %w", repo.ErrInvalid)
	// ErrRateLimited reports too many failed authentications.
	ErrRateLimited = errors.New("too many requests")
	// ErrTooManyUploads reports a token with too many open uploads.
	ErrTooManyUploads = fmt.Errorf("too many open uploads: %w", ErrRateLimited)
	// ErrTooLarge reports an upload over the server's size limit.
	ErrTooLarge = errors.New("upload too large")
	// ErrUploadsUnavailable reports a server that takes no uploads: it
	// has no upload engine.
	ErrUploadsUnavailable = errors.New("uploads unavailable")
)

// Codes is the error table, most specific first.
var Codes = []Code{
	{"unauthorized", http.StatusUnauthorized, auth.ErrUnauthorized},
	{"forbidden", http.StatusForbidden, auth.ErrForbidden},
	{"rate_limited", http.StatusTooManyRequests, ErrRateLimited},
	{"too_large", http.StatusRequestEntityTooLarge, ErrTooLarge},
	{"uploads_unavailable", http.StatusServiceUnavailable, ErrUploadsUnavailable},
	{"offset_mismatch", http.StatusConflict, ErrOffsetMismatch},
	{"digest_mismatch", http.StatusUnprocessableEntity, ErrDigestMismatch},
	{"digest_mismatch", http.StatusUnprocessableEntity, remote.ErrDigestMismatch},
	{"unreachable", http.StatusBadGateway, remote.ErrUnreachable},
	{"pruned", http.StatusNotFound, repo.ErrPruned},
	{"repo_not_found", http.StatusNotFound, repo.ErrRepoNotFound},
	{"version_not_found", http.StatusNotFound, repo.ErrVersionNotFound},
	{"path_not_found", http.StatusNotFound, repo.ErrPathNotFound},
	{"remote_not_found", http.StatusNotFound, remote.ErrRemoteNotFound},
	{"dist_not_found", http.StatusNotFound, dist.ErrDistNotFound},
	{"token_not_found", http.StatusNotFound, auth.ErrTokenNotFound},
	{"not_found", http.StatusNotFound, repo.ErrNotFound},
	{"not_found", http.StatusNotFound, objects.ErrNotFound},
	{"token_exists", http.StatusConflict, auth.ErrTokenExists},
	{"key_not_found", http.StatusNotFound, keys.ErrNotFound},
	{"key_exists", http.StatusConflict, keys.ErrExists},
	{"invalid_key", http.StatusBadRequest, keys.ErrInvalid},
	{"exists", http.StatusConflict, repo.ErrExists},
	{"not_fast_forward", http.StatusConflict, repo.ErrNotFastForward},
	{"dist_moved", http.StatusConflict, dist.ErrDistMoved},
	{"conflict", http.StatusConflict, repo.ErrConflict},
	{"in_use", http.StatusConflict, dist.ErrInUse},
	{"ambiguous", http.StatusBadRequest, repo.ErrAmbiguous},
	{"invalid_scope", http.StatusBadRequest, auth.ErrInvalidScope},
	{"base_path", http.StatusBadRequest, dist.ErrBasePath},
	{"unknown_kind", http.StatusBadRequest, remote.ErrUnknownKind},
	{"kind_mismatch", http.StatusBadRequest, repo.ErrKindMismatch},
	{"needs_upgrade", http.StatusConflict, repo.ErrNeedsUpgrade},
	{"invalid", http.StatusBadRequest, repo.ErrInvalid},
	{"corrupt", http.StatusInternalServerError, repo.ErrCorrupt},
	{"corrupt", http.StatusInternalServerError, objects.ErrCorrupt},
	{"canceled", 499, context.Canceled},
	{"timeout", http.StatusGatewayTimeout, context.DeadlineExceeded},
}

// CodeOf returns the entry of Codes err matches first.
func CodeOf(err error) (Code, bool) {
	for _, c := range Codes {
		if errors.Is(err, c.Err) {
			return c, true
		}
	}
	return Code{}, false
}

// msgError is an error whose message is exactly msg and that matches
// kind, so that the server answers it with kind's code and that message.
type msgError struct {
	msg  string
	kind error
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.kind }

// invalidf is a repo.ErrInvalid error with the message format gives.
func invalidf(format string, args ...any) error {
	return &msgError{fmt.Sprintf(format, args...), repo.ErrInvalid}
}
