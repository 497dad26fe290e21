package server

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/pkgvc/pkgvc/api/wire"
)

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
func toError(err error) *wire.Error {
	var e *wire.Error
	if errors.As(err, &e) {
		return e
	}
	if c, ok := wire.CodeOf(err); ok {
		return wire.NewError(c.Status, c.Code, err.Error(), err)
	}
	return wire.NewError(http.StatusInternalServerError, "internal", err.Error(), err)
}

// ErrorCode returns the code the API answers for err, as in wire.Codes
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
func errorf(sentinel error, format string, args ...any) *wire.Error {
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
			return wire.NewError(status, code, msg, nil)
		}
	})
}
