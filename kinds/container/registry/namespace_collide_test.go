package registry_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
)

// Two images spelled into one repository name, pulled for the first time
// at once: each client gets its own image, and each image its own
// repository.
func TestNamespaceCacheCollidingFirstPulls(t *testing.T) {
	e := newNSEnv(t)
	dAB := e.up.Push("a/b", "1", ocitest.NewImage(t, "linux", "amd64", true, 600))
	dADotB := e.up.Push("a.b", "1", ocitest.NewImage(t, "linux", "amd64", true, 700))
	for round := range 6 {
		name := fmt.Sprintf("ns%d", round)
		_, err := e.ds.Create(e.ctx, name, dist.DistSpec{BasePath: name, Remote: "hub"})
		require.NoError(t, err)
		var wg sync.WaitGroup
		got := map[string][]string{}
		var mu sync.Mutex
		for range 3 {
			for _, img := range []string{"a/b", "a.b"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, body := e.do(http.MethodGet, "/v2/"+name+"/"+img+"/manifests/1", "", nil)
					mu.Lock()
					defer mu.Unlock()
					if resp.StatusCode != http.StatusOK {
						got[img] = append(got[img], fmt.Sprintf("%d %s", resp.StatusCode, body))
						return
					}
					got[img] = append(got[img], resp.Header.Get("Docker-Content-Digest"))
				}()
			}
		}
		wg.Wait()
		for _, d := range got["a/b"] {
			require.Equal(t, dAB.String(), d, "round %d a/b", round)
		}
		for _, d := range got["a.b"] {
			require.Equal(t, dADotB.String(), d, "round %d a.b", round)
		}
		repos := e.cacheRepos()
		require.Len(t, repos[name+":a/b"], 1)
		require.Len(t, repos[name+":a.b"], 1)
	}
}
