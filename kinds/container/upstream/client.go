package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/remote"
)

// maxSessions bounds the cached sessions; past it the cache starts over
// (a session is only a login, cheap to redo).
const maxSessions = 256

// sessionKey names a session: the HTTP client is built per remote
// definition, so a changed remote gets a new session.
type sessionKey struct {
	client *httpx.Client
	repo   string
}

// session is what talking to one registry repository takes: a ggcr
// puller for tags and manifests, and an httpx client that authenticates
// through the registry's flow, for blobs.
type session struct {
	repo   name.Repository
	auth   authn.Authenticator
	base   *httpx.Client
	tr     http.RoundTripper // base's, kept to the remote's scheme
	puller *ggcr.Puller

	mu    sync.Mutex
	blobs *httpx.Client // nil until the first blob
	// aliases remembers the SHA-256 of blobs named by sha512 (alias.go).
	aliases aliasCache
}

func (s *Syncer) session(up remote.Upstream, repo name.Repository) (*session, error) {
	k := sessionKey{up.Client, repo.String()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.sessions[k]; ok {
		return ss, nil
	}
	var auth authn.Authenticator = authn.Anonymous
	if up.Remote.Username != "" {
		auth = passwordFile{user: up.Remote.Username, file: up.Remote.PasswordFile}
	}
	retries, bo := up.Client.Retries()
	base, top := bo.Base, bo.Max
	if base <= 0 {
		base = httpx.DefaultBackoffBase
	}
	if top <= 0 {
		top = httpx.DefaultBackoffMax
	}
	scheme := "https"
	if u, err := url.Parse(up.Remote.URL); err == nil && u.Scheme == "http" {
		scheme = "http"
	}
	tr := limitTransport{next: pinScheme(up.Client.HTTP().Transport, scheme, repo.RegistryStr()), retries: retries, backoff: bo}
	p, err := ggcr.NewPuller(
		ggcr.WithTransport(manifestLimit{tr}),
		ggcr.WithAuth(auth),
		ggcr.WithUserAgent("pkgvc"),
		ggcr.WithJobs(max(up.Remote.DownloadConcurrency, 1)),
		ggcr.WithRetryBackoff(ggcr.Backoff{Duration: base, Factor: 2, Jitter: 0.5, Steps: retries + 1, Cap: top}),
		ggcr.WithRetryStatusCodes(retryStatus...),
	)
	if err != nil {
		return nil, err
	}
	if len(s.sessions) >= maxSessions {
		clear(s.sessions)
	}
	ss := &session{repo: repo, auth: auth, base: up.Client, tr: tr, puller: p}
	s.sessions[k] = ss
	return ss, nil
}

// blobClient returns the client blobs are read with, logging in first
// (the registry's ping and token flow) if no earlier call did.
func (ss *session) blobClient(ctx context.Context) (*httpx.Client, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.blobs != nil {
		return ss.blobs, nil
	}
	tr, err := transport.NewWithContext(ctx, ss.repo.Registry, ss.auth, ss.tr,
		[]string{ss.repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("log in to %s: %w", ss.repo.RegistryStr(), err)
	}
	ss.blobs = ss.base.WithTransport(tr)
	return ss.blobs, nil
}

// errOtherScheme refuses a request to the registry in the scheme its
// remote's URL does not name.
var errOtherScheme = errors.New("not tried")

// pinScheme returns rt restricted to scheme (the remote URL's) for
// requests to the registry at host: ggcr pings a registry given as
// insecure (an http:// remote) over HTTPS first, and falls back from
// HTTPS to plain HTTP for local addresses. An http:// remote means plain
// HTTP only (no TLS handshake to wait for), an https:// one never plain
// HTTP (no credentials in clear). Requests to other hosts (token
// services, blob storage) are left alone.
func pinScheme(rt http.RoundTripper, scheme, host string) http.RoundTripper {
	return schemeTransport{next: rt, host: host, scheme: scheme}
}

type schemeTransport struct {
	next         http.RoundTripper
	host, scheme string
}

func (t schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == t.host && req.URL.Scheme != t.scheme {
		if req.Body != nil {
			_ = req.Body.Close() // as a RoundTripper must
		}
		return nil, fmt.Errorf("%s over %s: %w (the remote's URL is %s://)", t.host, strings.ToUpper(req.URL.Scheme), errOtherScheme, t.scheme)
	}
	return t.next.RoundTrip(req)
}

// passwordFile gives Basic credentials whose password is read from a file
// each time they are needed, so a rotated secret takes effect at once.
type passwordFile struct{ user, file string }

func (p passwordFile) Authorization() (*authn.AuthConfig, error) {
	pw := ""
	if p.file != "" {
		b, err := os.ReadFile(p.file)
		if err != nil {
			return nil, fmt.Errorf("password file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	return &authn.AuthConfig{Username: p.user, Password: pw}, nil
}

// Open reads a blob's bytes from the registry (see remote.Opener): p.URL
// is the blob's URL under the remote's registry, as Index gives it; the
// request goes through the registry's auth and is retried and resumed
// as the remote says. The engine verifies what it reads.
func (s *Syncer) Open(ctx context.Context, up remote.Upstream, p remote.Package) (io.ReadCloser, error) {
	o, err := parseOptions(&up.Remote)
	if err != nil {
		return nil, err
	}
	repo, err := repoOf(o, p.URL)
	if err != nil {
		return nil, err
	}
	sess, err := s.session(up, repo)
	if err != nil {
		return nil, err
	}
	c, err := sess.blobClient(ctx)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, p.URL, p.Size)
}

// repoOf returns the repository of a blob URL under the remote's
// registry, "<base>/v2/<name>/blobs/<digest>". Any other URL is refused:
// the remote's credentials go to its registry only.
func repoOf(o *options, raw string) (name.Repository, error) {
	rest, ok := strings.CutPrefix(raw, o.base+"/v2/")
	if !ok {
		return name.Repository{}, fmt.Errorf("%w: %s is not under the remote's registry %s", remote.ErrNotOnDemand, raw, o.base)
	}
	i := strings.LastIndex(rest, "/blobs/")
	if i <= 0 {
		return name.Repository{}, fmt.Errorf("%w: %s is not a blob URL", remote.ErrNotOnDemand, raw)
	}
	repoName, err := url.PathUnescape(rest[:i])
	if err != nil {
		return name.Repository{}, err
	}
	if repoName == o.repo.RepositoryStr() {
		return o.repo, nil
	}
	var nopts []name.Option
	if o.repo.Scheme() == "http" && strings.HasPrefix(o.base, "http:") {
		nopts = append(nopts, name.Insecure)
	}
	return name.NewRepository(o.repo.RegistryStr()+"/"+repoName, nopts...)
}

// notFound makes a registry's 404 match remote.ErrRefNotFound.
func notFound(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", remote.ErrRefNotFound, err)
	}
	return err
}
