package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/auth"
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
)

// Codes is the error table, most specific first.
var Codes = []Code{
	{"unauthorized", http.StatusUnauthorized, auth.ErrUnauthorized},
	{"forbidden", http.StatusForbidden, auth.ErrForbidden},
	{"rate_limited", http.StatusTooManyRequests, ErrRateLimited},
	{"too_large", http.StatusRequestEntityTooLarge, ErrTooLarge},
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

// Codes huma itself answers with, for requests it rejects before a handler.
var statusCodes = map[int]string{
	http.StatusBadRequest:            "invalid",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "not_acceptable",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "invalid",
	http.StatusTooManyRequests:       "rate_limited",
}

// toError turns an error from the service into the API's error.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, c := range Codes {
		if errors.Is(err, c.Err) {
			return &Error{Code: c.Code, Message: err.Error(), status: c.Status, err: err}
		}
	}
	return &Error{Code: "internal", Message: err.Error(), status: http.StatusInternalServerError, err: err}
}

// ErrorCode returns the code the API answers for err, as in Codes
// ("internal" for an error none matches). A task runner gives it failed
// tasks (api.Task.ErrorCode), so that their errors map back to the same
// sentinels.
func ErrorCode(err error) string { return toError(err).Code }

// apiError returns a handler's error with its status, for huma.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	return toError(err)
}

// errorf makes an Error of a sentinel with a message.
func errorf(sentinel error, format string, args ...any) *Error {
	e := toError(sentinel)
	e.Message = fmt.Sprintf(format, args...)
	return e
}

var installErrors sync.Once

// useErrorModel makes huma answer its own errors (validation, unknown
// content types) with Error too, so that every error has one shape and the
// OpenAPI document describes it. huma only offers this as a package
// variable; Error is the only error model in this program.
func useErrorModel() {
	installErrors.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			code := statusCodes[status]
			if code == "" {
				code = "internal"
			}
			for _, e := range errs {
				if e != nil {
					msg += ": " + e.Error()
				}
			}
			return &Error{Code: code, Message: msg, status: status}
		}
	})
}
