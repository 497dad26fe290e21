package publish

import "net/http"

// Router is an optional Publisher capability for content kinds whose
// clients ask for one resource in several ways: the Simple Repository API
// negotiates HTML or JSON on the Accept header, and normalizes project
// names. Route maps a request for rel (the path inside the distribution,
// without a leading '/') to the generated file to serve.
//
// ok false means the publisher has nothing to say and the server goes on
// as usual (packages, other generated files, directory listings). With
// redirect true the server answers with a redirect to target (a path
// inside the distribution) instead of serving it. vary, when not empty, is
// sent as the Vary header (e.g. "Accept").
type Router interface {
	Route(r *http.Request, rel string, pub *Publication) (target string, redirect bool, vary string, ok bool)
}
