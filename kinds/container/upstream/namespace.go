package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	ocifmt "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/remote"
)

// A container remote without an upstream name stands for its whole
// registry: a namespace distribution caches each image asked for in a
// repository of its own, which reads the remote narrowed to the image's
// name (remote.NamespaceCacher).
var _ remote.NamespaceCacher = (*Syncer)(nil)

// dockerHubHosts are the hosts of Docker Hub, whose one-component names
// are short for library/<name>.
var dockerHubHosts = map[string]bool{"registry-1.docker.io": true, "docker.io": true, "index.docker.io": true}

// errNoName is the sync of a remote standing for a whole registry.
var errNoName = errors.New("no upstream name: the remote stands for the whole registry; give the registry's repository (--upstream-name library/alpine), or read it through a namespace distribution (pkgvc dist create NAME --base-path P --remote REMOTE)")

// upstreamRepo returns the repository upstreamName of the registry at u;
// without a name, the registry's root (blob URLs name their repository).
func upstreamRepo(u *url.URL, upstreamName string) (name.Repository, error) {
	var nopts []name.Option
	if u.Scheme == "http" {
		nopts = append(nopts, name.Insecure)
	}
	if upstreamName == "" {
		reg, err := name.NewRegistry(u.Host, nopts...)
		if err != nil {
			return name.Repository{}, fmt.Errorf("url %q: %w", u, err)
		}
		return reg.Repo(), nil
	}
	repo, err := name.NewRepository(u.Host+"/"+upstreamName, append(nopts, name.StrictValidation)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("upstream name %q: %w", upstreamName, err)
	}
	return repo, nil
}

// parseNamed is parseOptions for reading one repository: the remote must
// name one.
func parseNamed(r *remote.Remote) (*options, error) {
	o, err := parseOptions(r)
	if err != nil {
		return nil, err
	}
	if o.repo.RepositoryStr() == "" {
		return nil, errNoName
	}
	return o, nil
}

// ServesNamespace reports whether r has no upstream name.
func (*Syncer) ServesNamespace(r *remote.Remote) bool {
	ro, err := RemoteOptionsOf(r)
	return err == nil && ro.UpstreamName == ""
}

// NamespaceName checks an image name of r's registry and returns it as
// the registry spells it: on Docker Hub (or with --docker-hub) a name of
// one component is short for library/<name>.
func (*Syncer) NamespaceName(r *remote.Remote, n string) (string, error) {
	if err := ocifmt.CheckName(n); err != nil {
		return "", err
	}
	if !strings.Contains(n, "/") && dockerHub(r) {
		n = "library/" + n
		if err := ocifmt.CheckName(n); err != nil { // too long now
			return "", err
		}
	}
	return n, nil
}

// ForName returns r reading the image n of its registry.
func (*Syncer) ForName(r remote.Remote, n string) (remote.Remote, error) {
	o, err := RemoteOptionsOf(&r)
	if err != nil {
		return r, err
	}
	if err := ocifmt.CheckName(n); err != nil {
		return r, err
	}
	o.UpstreamName = n
	return o.With(r), nil
}

// dockerHub reports whether r's registry takes Docker Hub's library/
// shorthand: set by --docker-hub, or Docker Hub's own host.
func dockerHub(r *remote.Remote) bool {
	if ro, err := RemoteOptionsOf(r); err == nil && ro.DockerHub {
		return true
	}
	u, err := url.Parse(r.URL)
	return err == nil && dockerHubHosts[strings.ToLower(u.Hostname())]
}
