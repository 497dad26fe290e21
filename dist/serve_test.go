package dist_test

import (
	"net/http"
	"net/http/httptest"
)

// getPath serves a GET of path from s: the kind checks are seen through
// the content server.
func getPath(s http.Handler, path string) (int, string) {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code, w.Body.String()
}
