// Package remotetest gives tests an upstream for file remotes that can
// stall in the middle of a sync, so that they can stop or kill what syncs
// from it at a known point.
package remotetest

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Upstream serves Files and their PULP_MANIFEST (in path order). Until
// Release is closed, a request for the Stall path reports itself on Asked
// and hangs until the client gives up.
type Upstream struct {
	Files   map[string][]byte
	Stall   string
	Asked   chan struct{}
	Release chan struct{}

	mu   sync.Mutex
	gets map[string]int
}

// New returns an Upstream of files that stalls on the path stall.
func New(files map[string][]byte, stall string) *Upstream {
	return &Upstream{Files: files, Stall: stall, Asked: make(chan struct{}, 16), Release: make(chan struct{}), gets: map[string]int{}}
}

// Gets returns how many times each file was asked for.
func (u *Upstream) Gets() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.gets)
}

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == "PULP_MANIFEST" {
		for _, name := range slices.Sorted(maps.Keys(u.Files)) {
			fmt.Fprintf(w, "%s,%x,%d\n", name, sha256.Sum256(u.Files[name]), len(u.Files[name]))
		}
		return
	}
	data, ok := u.Files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	u.mu.Lock()
	u.gets[p]++
	u.mu.Unlock()
	if p == u.Stall {
		select {
		case <-u.Release:
		default:
			select {
			case u.Asked <- struct{}{}:
			default:
			}
			select {
			case <-u.Release:
			case <-r.Context().Done():
				return
			}
		}
	}
	_, _ = w.Write(data)
}
