package content

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/repo"
)

// PullFunc brings projects (normalized names) of remote remoteName into
// repository repoName as one new version of on-demand records, for
// pull-through (see remote.Manager.PullProjects). An error fails every
// project asked for.
type PullFunc func(ctx context.Context, remoteName, repoName string, projects []string) (PullResult, error)

// PullResult is what a PullFunc did.
type PullResult struct {
	// NotFound lists the projects the upstream does not have.
	NotFound []string
	// Failed maps projects that could not be read to their error.
	Failed map[string]error
}

// Pull-through defaults.
const (
	// PullWindow is how long the first request for a missing project
	// waits for others, so that they are pulled in one version.
	PullWindow = 200 * time.Millisecond
	// PullNegativeTTL is how long an upstream's "no such project" is
	// remembered.
	PullNegativeTTL = time.Minute
	// pullTimeout bounds one batch.
	pullTimeout = 5 * time.Minute
	// maxNegative bounds the remembered "no such project" answers.
	maxNegative = 1 << 14
)

// WithPullThrough lets distributions that name a remote pull projects
// they lack from it: a distribution following a repository whose kind's
// publisher has ProjectPaths (python), asked for a path about a project
// its publication does not know (python: simple/<project>/ or
// packages/<project>/...), has f bring the project into the repository,
// then serves the request from the new version; a file the publication
// derives from a package (a wheel's PEP 658 metadata) is answered from
// the store once the version holds the package, with no upstream
// request. Requests arriving within
// PullWindow of each other are pulled together (one new version); requests
// for a project being pulled wait for it. A project the upstream does not
// have is answered 404 and remembered for PullNegativeTTL; a failing
// upstream is answered 502; one that rate-limits is waited for within
// the remote's read timeout (WithPullWait), then answered 429 with
// Retry-After, and not asked again before its wait is over. A pinned
// distribution answers 409.
func WithPullThrough(f PullFunc) ServerOption {
	return func(s *Server) { s.pull = newPuller(f, PullWindow, PullNegativeTTL) }
}

// errNoProject is a project the upstream does not have.
var errNoProject = errors.New("not on the remote")

type pullKey struct{ remote, repo, project string }

// pullCall is the pull of one project, shared by its waiters.
type pullCall struct {
	done chan struct{}
	err  error // nil, errNoProject or the failure
}

// pullBatch collects the projects of one remote and repository asked for
// within the window.
type pullBatch struct {
	calls map[string]*pullCall // by project
}

// puller batches pull-through requests.
type puller struct {
	fn             PullFunc
	window, negTTL time.Duration
	now            func() time.Time

	mu       sync.Mutex
	open     map[[2]string]*pullBatch // collecting, by remote and repo
	inflight map[pullKey]*pullCall
	negative map[pullKey]time.Time // expiry
	pulled   map[pullKey]time.Time // last successful pull, for getFresh
	limits   *rateLimits           // the server's, shared with its other pullers
	runs     map[string]*runLock   // by repo, while a pull into it runs or waits

	count func(result int) // metrics (ops.go); nil counts nothing
}

func newPuller(f PullFunc, window, negTTL time.Duration) *puller {
	return &puller{
		fn: f, window: window, negTTL: negTTL, now: time.Now,
		open:     make(map[[2]string]*pullBatch),
		inflight: make(map[pullKey]*pullCall),
		negative: make(map[pullKey]time.Time),
		pulled:   make(map[pullKey]time.Time),
		limits:   newRateLimits(),
		runs:     make(map[string]*runLock),
	}
}

// runLock serializes the pulls into one repository; users counts the
// runs holding or waiting for it.
type runLock struct {
	mu    sync.Mutex
	users int
}

// get pulls project of remote into repository rp, sharing the work with
// concurrent requests, and returns nil once it is in.
func (p *puller) get(ctx context.Context, remote, rp, project string) error {
	k := pullKey{remote, rp, project}
	p.mu.Lock()
	if exp, ok := p.negative[k]; ok {
		if p.now().Before(exp) {
			p.mu.Unlock()
			p.counted(pullNegative)
			return errNoProject
		}
		delete(p.negative, k)
	}
	if err := p.limits.check(remote, p.now()); err != nil {
		p.mu.Unlock()
		return err
	}
	p.counted(pullMiss)
	c := p.inflight[k]
	if c == nil {
		c = &pullCall{done: make(chan struct{})}
		p.inflight[k] = c
		bk := [2]string{remote, rp}
		b := p.open[bk]
		if b == nil {
			b = &pullBatch{calls: make(map[string]*pullCall)}
			p.open[bk] = b
			time.AfterFunc(p.window, func() { p.run(bk, b) })
		}
		b.calls[project] = c
	}
	p.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// getFresh is get, except that a project pulled successfully within
// maxAge (> 0) is not pulled again.
func (p *puller) getFresh(ctx context.Context, remote, rp, project string, maxAge time.Duration) error {
	if maxAge > 0 {
		p.mu.Lock()
		at, ok := p.pulled[pullKey{remote, rp, project}]
		p.mu.Unlock()
		if ok && p.now().Sub(at) < maxAge {
			p.counted(pullHit)
			return nil
		}
	}
	return p.get(ctx, remote, rp, project)
}

// run pulls batch b once its window closed.
func (p *puller) run(bk [2]string, b *pullBatch) {
	p.mu.Lock()
	if p.open[bk] == b {
		delete(p.open, bk)
	}
	run := p.runs[bk[1]]
	if run == nil {
		run = new(runLock)
		p.runs[bk[1]] = run
	}
	run.users++
	p.mu.Unlock()
	projects := make([]string, 0, len(b.calls))
	for name := range b.calls {
		projects = append(projects, name)
	}
	slices.Sort(projects)

	run.mu.Lock() // one pull into a repository at a time
	ctx, cancel := context.WithTimeout(pullContext(context.Background()), pullTimeout)
	res, err := p.call(ctx, bk[0], bk[1], projects)
	cancel()
	run.mu.Unlock()

	p.mu.Lock()
	defer p.mu.Unlock()
	// A namespace cache pulls into a repository per name asked for:
	// nothing stays for a repository once no pull runs into it.
	if run.users--; run.users == 0 {
		delete(p.runs, bk[1])
	}
	now := p.now()
	if len(p.negative) >= maxNegative {
		for k, exp := range p.negative {
			if !now.Before(exp) {
				delete(p.negative, k)
			}
		}
	}
	if len(p.pulled) >= maxNegative {
		clear(p.pulled) // only saves upstream checks
	}
	for name, c := range b.calls {
		k := pullKey{bk[0], bk[1], name}
		switch {
		case err != nil:
			c.err = err
			p.limits.note(bk[0], err)
		case slices.Contains(res.NotFound, name):
			c.err = errNoProject
			if len(p.negative) < maxNegative {
				p.negative[k] = now.Add(p.negTTL)
			}
		case res.Failed[name] != nil:
			c.err = res.Failed[name]
			p.limits.note(bk[0], c.err)
		default:
			p.pulled[k] = now
		}
		delete(p.inflight, k)
		close(c.done)
	}
}

// call runs fn. A batch runs in a goroutine of its own, outside any
// request: a panic in it fails the batch's requests as a
// *parallel.PanicError (500, its stack logged) instead of ending the
// process.
func (p *puller) call(ctx context.Context, remote, rp string, projects []string) (res PullResult, err error) {
	err = parallel.Safe(func() (err error) {
		res, err = p.fn(ctx, remote, rp, projects)
		return err
	})
	return res, err
}

// pulledKey marks a request served after its pull, which must not pull
// again.
type pulledKey struct{}

// pullThrough answers a request for a project a pull-through distribution
// does not hold yet: it pulls the project, then serves the request from
// the repository's new head. vs is nil when the repository has no version
// yet. It reports whether it answered.
func (s *Server) pullThrough(w http.ResponseWriter, r *http.Request, de *distEntry, vs *verState, sub string) bool {
	ctx := r.Context()
	if s.pull == nil || de.d.Remote == "" || ctx.Value(pulledKey{}) != nil {
		return false
	}
	pp := s.projectPaths(de.d.Kind)
	if pp == nil {
		return false
	}
	project, page := pp.PullProject(sub)
	if project == "" {
		return false
	}
	if vs != nil {
		if page {
			q := request{dist: de, vs: vs, sub: sub}
			pub, err := s.publication(ctx, &q)
			if err != nil || pub == nil {
				return false // the usual path reports it
			}
			if _, ok := pub.File(sub); ok {
				return false // a generated file, asked for by name
			}
			if _, ok := pub.File(pp.ProjectPage(project)); ok {
				s.pull.counted(pullHit)
				return false
			}
		} else {
			le, err := vs.lookup(ctx, s, sub)
			if err != nil || le.found {
				if le.found {
					s.pull.counted(pullHit)
				}
				return false
			}
			// A file derived from a package (a wheel's metadata) is the
			// store's to answer (generated or not) once the version holds
			// the package: pulling the project again would not change it.
			if pkg, ok := pp.DerivedFrom(sub); ok {
				le, err := vs.lookup(ctx, s, pkg)
				if err != nil || le.found {
					if le.found {
						s.pull.counted(pullHit)
					}
					return false
				}
			}
		}
	}
	if de.d.Private && !s.authorize(w, r, de.d) {
		return true
	}
	if de.d.Repo == "" {
		textError(w, http.StatusConflict, fmt.Sprintf("conflict: distribution %s does not hold project %s and is pinned to version %s: pull-through from remote %s needs a distribution following a repository", de.name, project, de.d.Version, de.d.Remote))
		return true
	}
	err := s.pullLimited(ctx, de.d.Remote, func() error { return s.pull.get(ctx, de.d.Remote, de.d.Repo, project) })
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl):
		rl.SetRetryAfter(w)
		textError(w, http.StatusTooManyRequests, fmt.Sprintf("too many requests: project %s is not in distribution %s, and the upstream of remote %s asks to wait", project, de.name, de.d.Remote))
		return true
	case errors.Is(err, errNoProject):
		textError(w, http.StatusNotFound, fmt.Sprintf("not found: project %s is neither in distribution %s nor on its remote %s", project, de.name, de.d.Remote))
		return true
	case ctx.Err() != nil:
		return true // the client went away
	case errors.As(err, new(*parallel.PanicError)): // in the pull or one of its workers
		s.log.Error("pull-through panic", "dist", de.name, "remote", de.d.Remote, "project", project, "err", err, parallel.LogStack(err))
		textError(w, http.StatusInternalServerError, "internal error: pulling project "+project+" failed (see the server log)")
		return true
	case errors.Is(err, repo.ErrNotFound) || errors.Is(err, repo.ErrInvalid):
		textError(w, http.StatusBadGateway, fmt.Sprintf("bad gateway: distribution %s cannot pull through remote %s: %s", de.name, de.d.Remote, oneLine(err.Error())))
		return true
	case err != nil:
		s.log.Warn("pull-through", "dist", de.name, "remote", de.d.Remote, "project", project, "err", err)
		textError(w, http.StatusBadGateway, fmt.Sprintf("bad gateway: pulling project %s from remote %s failed: %s", project, de.d.Remote, oneLine(err.Error())))
		return true
	}
	// Serve from the new head, without pulling again.
	r = r.WithContext(context.WithValue(ctx, pulledKey{}, true))
	de2, sub2, _, cur, err := s.resolve(r.Context(), r.URL.Path[len(ContentPrefix):])
	if err != nil {
		s.internal(w, r, "distributions", err)
		return true
	}
	if de2 == nil {
		textError(w, http.StatusNotFound, "not found: no distribution serves "+r.URL.Path)
		return true
	}
	s.serveVersionPath(w, r, &request{dist: de2, vs: cur, sub: sub2, prefix: ContentPrefix + de2.basePath + "/"})
	return true
}

// pullHit counts a routed request of a pull-through distribution for a
// project it holds (its page) as a hit, unless it is served after its
// pull.
func (s *Server) pullHit(r *http.Request, q *request) {
	if s.pull == nil || q.dist.d.Remote == "" || q.immutable || r.Context().Value(pulledKey{}) != nil {
		return
	}
	pp := s.projectPaths(q.dist.d.Kind)
	if pp == nil {
		return
	}
	if p, _ := pp.PullProject(q.sub); p != "" {
		s.pull.counted(pullHit)
	}
}

// pullEmpty is pullThrough for a distribution whose repository has no
// version yet (err from resolve says so).
func (s *Server) pullEmpty(w http.ResponseWriter, r *http.Request, de *distEntry, sub string, err error) bool {
	var nv *noVersionError
	if de == nil || !errors.As(err, &nv) {
		return false
	}
	return s.pullThrough(w, r, de, nil, sub)
}
