// Package app is the composition root of a pkgvc process: it opens the
// store at a location and builds, once, everything that works on it (the
// distributions, publications, remotes, tokens and task services, the
// failed-authentication limiter, the upload engine), then hands the same
// values to every server of the process. The content server and the
// REST API built here count failed authentications on one limiter, so a
// password guesser gets one budget whichever it knocks at, and take
// uploads through one engine.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/api/local"
	apiserver "github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/keys"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location"
	locall "github.com/pkgvc/pkgvc/location/all"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// DefaultPublications is how many publications (rendered indexes of
// versions) the content server keeps.
const DefaultPublications = 16

// App is one store and the services over it.
type App struct {
	loc   string
	parts *location.Parts // nil for New

	st      *repo.Store
	dists   *dist.Dists
	pubs    *publish.Publications
	remotes *remote.Manager
	tokens  *auth.Store
	svc     *local.Service
	limiter *auth.Limiter
	// uploads is the store-backed resumable-upload engine of the
	// process, shared by the REST API, OCI pushes and twine.
	uploads *uploads.Engine
}

type config struct {
	reg          *location.Registry
	mode         location.Mode
	repoOpts     []repo.Option
	svcOpts      []local.Option
	storeTasks   bool
	pubs         int
	authFailures int
	authWindow   time.Duration
	authBlock    time.Duration
}

// Option configures Open and New.
type Option func(*config)

// WithRegistry sets the location schemes Open knows (default: every
// scheme of package location/all).
func WithRegistry(r *location.Registry) Option { return func(c *config) { c.reg = r } }

// WithCreate makes Open create the store when there is none; without it a
// missing store is repo.ErrNoStore.
func WithCreate() Option { return func(c *config) { c.mode = location.Create } }

// WithRepoOptions configures the repo.Store Open builds.
func WithRepoOptions(opts ...repo.Option) Option {
	return func(c *config) { c.repoOpts = append(c.repoOpts, opts...) }
}

// WithServiceOptions configures the api.Service (tasks, schedules).
func WithServiceOptions(opts ...local.Option) Option {
	return func(c *config) { c.svcOpts = append(c.svcOpts, opts...) }
}

// WithStoreTasks keeps tasks and schedules in the store (see
// local.WithStoreTasks), where every process sharing it sees them.
func WithStoreTasks() Option { return func(c *config) { c.storeTasks = true } }

// WithAuthLimit sets how many failed authentications a client address may
// make within window, over the content server and the REST API together,
// before its failures get 429 for block (default 10 a minute, blocked a
// minute); failures <= 0 disables the limit.
func WithAuthLimit(failures int, window, block time.Duration) Option {
	return func(c *config) { c.authFailures, c.authWindow, c.authBlock = failures, window, block }
}

func newConfig(opts []Option) *config {
	c := &config{
		mode: location.Existing, pubs: DefaultPublications,
		authFailures: auth.DefaultLimitFailures, authWindow: auth.DefaultLimitWindow, authBlock: auth.DefaultLimitBlock,
	}
	for _, o := range opts {
		o(c)
	}
	if c.reg == nil {
		c.reg = locall.Registry()
	}
	return c
}

// Open opens the store at loc (a directory, file:///DIR, or any scheme
// of the registry) and builds the services over it.
func Open(ctx context.Context, loc string, opts ...Option) (*App, error) {
	c := newConfig(opts)
	parts, err := c.reg.Open(ctx, loc, c.mode)
	if err != nil {
		return nil, err
	}
	a := compose(parts.Store(puball.Kinds(), c.repoOpts...), c)
	a.loc, a.parts = loc, parts
	return a, nil
}

// New builds the services over a store already open (tests, embedding).
func New(st *repo.Store, opts ...Option) *App {
	return compose(st, newConfig(opts))
}

// compose builds every service over st, each once.
func compose(st *repo.Store, c *config) *App {
	a := &App{st: st}
	a.remotes = remote.New(st, puball.Syncers())
	a.tokens = auth.New(st)
	a.dists = dist.NewDists(st, dist.WithRemotes(a.remotes), dist.WithLegacyKind(puball.Default))
	a.pubs = publish.NewPublications(st, puball.Publishers(), c.pubs)
	a.limiter = auth.NewLimiter(c.authFailures, c.authWindow, c.authBlock)
	a.uploads = uploads.New(st)
	svcOpts := c.svcOpts
	if c.storeTasks {
		svcOpts = append([]local.Option{local.WithStoreTasks()}, svcOpts...)
	}
	a.svc = local.New(local.Parts{Store: st, Dists: a.dists, Remotes: a.remotes, Tokens: a.tokens, Keys: keys.New(st.Meta()), Uploads: a.uploads, Publishers: puball.Publishers()}, svcOpts...)
	return a
}

// Location is the location the store was opened at ("" for New).
func (a *App) Location() string { return a.loc }

// Store returns the store.
func (a *App) Store() *repo.Store { return a.st }

// Service returns the api.Service over the store.
func (a *App) Service() *local.Service { return a.svc }

// Dists returns the distribution manager.
func (a *App) Dists() *dist.Dists { return a.dists }

// Publications returns the publication cache of the content server.
func (a *App) Publications() *publish.Publications { return a.pubs }

// Remotes returns the remote manager.
func (a *App) Remotes() *remote.Manager { return a.remotes }

// Uploads returns the upload engine of the process.
func (a *App) Uploads() *uploads.Engine { return a.uploads }

// ContentServer builds the content server over the app's store,
// distributions and publications, checking tokens with the app's tokens
// and counting failures on the app's limiter, and watching the refs when
// the medium can; opts come after those.
func (a *App) ContentServer(opts ...content.ServerOption) *content.Server {
	base := []content.ServerOption{
		content.WithAuth(a.tokens), content.WithAuthLimiter(a.limiter),
		content.WithFetcher(a.remotes.FetchBlob), content.WithUploads(a.uploads),
	}
	if a.parts != nil && a.parts.Watch != nil {
		base = append(base, content.WithRefsWatch(a.parts.Watch))
	}
	srv := content.NewServer(a.st, a.dists, a.pubs, append(base, opts...)...)
	a.remotes.OnBlobStored(srv.BlobWritten) // hashed while downloaded: no second hash on first serve
	return srv
}

// APIServer builds the REST API over the app's service, checking tokens
// with the app's tokens and counting failures on the app's limiter, with
// the app's upload engine; opts come after those.
func (a *App) APIServer(opts ...apiserver.Option) (*apiserver.Server, error) {
	base := []apiserver.Option{apiserver.WithAuthLimiter(a.limiter), apiserver.WithUploads(a.uploads),
		apiserver.WithRemoteOptions(puball.Syncers().DeclaredOptions())}
	return apiserver.New(a.svc, a.tokens, append(base, opts...)...)
}

// Close closes the task service and what the store's opener holds open.
func (a *App) Close() error {
	errs := []error{a.svc.Close()}
	if a.parts != nil {
		errs = append(errs, a.parts.Close())
	}
	return errors.Join(errs...)
}

// Upgrade converts the store at loc to the format this pkgvc writes (see
// repo.Upgrade), with the conversions the services add: a distribution
// pinned by version id gets its version's kind. fixed names the
// distributions whose kind changed.
func Upgrade(ctx context.Context, loc string, opts ...Option) (rep *repo.UpgradeReport, fixed []string, err error) {
	c := newConfig(opts)
	parts, err := c.reg.Open(ctx, loc, location.Upgrade)
	if err != nil {
		return nil, nil, err
	}
	defer parts.Close()
	if parts.Format == nil {
		return nil, nil, fmt.Errorf("upgrade %s: the store records no format: %w", loc, errors.ErrUnsupported)
	}
	st := parts.Store(puball.Kinds(), c.repoOpts...)
	steps := []repo.UpgradeStep{
		// An older pkgvc gave a distribution pinned by version id the kind
		// file; the version's kind is known now.
		func(ctx context.Context, st *repo.Store) error {
			names, err := compose(st, c).Dists().FixPinnedKinds(ctx)
			fixed = names
			return err
		},
	}
	rep, err = repo.Upgrade(ctx, st, parts.Format, loc, steps)
	return rep, fixed, err
}
