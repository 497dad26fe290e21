package container

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/meta"
)

// pullLogPrefix + REPO is the metadata document holding when each image
// of a container repository was last pulled (a PullLog).
const pullLogPrefix = "container-pulls/"

// PullEvery is how often one image's pull is written down, at most: a
// pull within PullEvery of the recorded one changes nothing worth a
// write, since retention counts in days.
const PullEvery = time.Hour

// maxPullWrites bounds the refs a PullRecorder remembers writing.
const maxPullWrites = 1 << 16

// PullLog is when the images of a repository were last pulled, by
// reference: a tag, or "sha256:<hex>" for a manifest pulled by digest.
type PullLog struct {
	Pulled map[string]time.Time `json:"pulled"`
	// Seen is, for references never pulled whose caching the history
	// no longer tells (retention cut it), the time they are known to
	// have been in the repository since, written by Prune.
	Seen map[string]time.Time `json:"seen,omitempty"`
}

func pullLogKey(repoName string) string { return pullLogPrefix + repoName }

// LoadPullLog reads repository repoName's pull log; a repository never
// pulled from has an empty one.
func LoadPullLog(ctx context.Context, m meta.Store, repoName string) (*PullLog, meta.Rev, error) {
	var l PullLog
	rev, err := meta.GetJSON(ctx, m, pullLogKey(repoName), &l)
	if errors.Is(err, meta.ErrNotFound) {
		return &PullLog{Pulled: map[string]time.Time{}}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if l.Pulled == nil {
		l.Pulled = map[string]time.Time{}
	}
	return &l, rev, nil
}

// updatePullLog applies f to repoName's pull log and stores it, again on
// a concurrent change; f reports whether it changed anything.
func updatePullLog(ctx context.Context, m meta.Store, repoName string, f func(*PullLog) bool) error {
	for range 20 {
		l, rev, err := LoadPullLog(ctx, m, repoName)
		if err != nil {
			return err
		}
		if !f(l) {
			return nil
		}
		if len(l.Pulled) == 0 && len(l.Seen) == 0 {
			err = meta.DeleteIf(ctx, m, pullLogKey(repoName), rev)
		} else {
			_, err = meta.PutJSON(ctx, m, pullLogKey(repoName), l, rev)
		}
		if !errors.Is(err, meta.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("pull log of %s: %w", repoName, meta.ErrConflict)
}

// PullRecorder writes pulls down in the repositories' pull logs, at most
// once per PullEvery per image and repository in this process: serving a
// manifest costs no write most of the time.
type PullRecorder struct {
	Meta meta.Store
	Now  func() time.Time // time.Now when nil

	mu      sync.Mutex
	written map[[2]string]time.Time // by repository and ref
}

// Record notes that ref (a tag, or "sha256:<hex>") of repository repoName
// was pulled now.
func (p *PullRecorder) Record(ctx context.Context, repoName, ref string) error {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	k := [2]string{repoName, ref}
	p.mu.Lock()
	if at, ok := p.written[k]; ok && now.Sub(at) < PullEvery && !now.Before(at) {
		p.mu.Unlock()
		return nil
	}
	if p.written == nil || len(p.written) >= maxPullWrites {
		p.written = make(map[[2]string]time.Time) // only saves writes
	}
	p.written[k] = now
	p.mu.Unlock()
	err := updatePullLog(ctx, p.Meta, repoName, func(l *PullLog) bool {
		if at, ok := l.Pulled[ref]; ok && now.Sub(at) < PullEvery {
			return false // another process wrote it down
		}
		l.Pulled[ref] = now.UTC()
		return true
	})
	if err != nil {
		p.mu.Lock()
		delete(p.written, k) // try again on the next pull
		p.mu.Unlock()
	}
	return err
}

// forgetPulls drops refs from repoName's pull log (pruned images).
func forgetPulls(ctx context.Context, m meta.Store, repoName string, refs []string) error {
	return updatePullLog(ctx, m, repoName, func(l *PullLog) bool {
		n := len(l.Pulled) + len(l.Seen)
		for _, r := range refs {
			delete(l.Pulled, r)
			delete(l.Seen, r)
		}
		return len(l.Pulled)+len(l.Seen) != n
	})
}
