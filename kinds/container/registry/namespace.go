package registry

import (
	"fmt"
	"net/http"

	"github.com/pkgvc/pkgvc/dist"
)

// Names under a namespace cache's base path (a distribution whose remote
// stands for a whole registry) resolve, through content.Server.Target, to
// the distribution of one upstream image: it follows the image's cache
// repository and pulls through the remote like any pull-through
// distribution; its first pull creates the repository. Reads need what
// reading the namespace cache needs: its distribution's read scope covers
// every image under it.

// namespaceWritable answers 405 for a push to an image of a namespace
// cache: the cache holds what the upstream has.
func namespaceWritable(w http.ResponseWriter, d *dist.Distribution) bool {
	if d.Cache == nil {
		return true
	}
	writeError(w, http.StatusMethodNotAllowed, codeUnsupported, fmt.Sprintf("%s is cached from %s of remote %s by distribution %s: push to a distribution that follows a repository", d.BasePath, d.Cache.Name, d.Remote, d.Name), nil)
	return false
}
