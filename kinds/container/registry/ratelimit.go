package registry

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pkgvc/pkgvc/content"
)

// rateLimited answers 429 TOOMANYREQUESTS with the upstream's remaining
// wait as Retry-After when err says the remote's upstream rate-limits
// pulls of what the repository lacks, rather than 502: the client may
// come back. It reports whether it answered.
func (q *request) rateLimited(w http.ResponseWriter, err error, ref reference) bool {
	var rl *content.RateLimitError
	if !errors.As(err, &rl) {
		return false
	}
	rl.SetRetryAfter(w)
	writeError(w, http.StatusTooManyRequests, codeTooManyRequests, fmt.Sprintf("%s is not in %s, and the upstream of remote %s asks to wait before it is pulled", ref.name(), q.name, rl.Remote), nil)
	return true
}
