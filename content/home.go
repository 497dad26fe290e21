package content

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/repo"
)

// Access is how clients use a distribution.
type Access struct {
	// URL is what a client is given: the pip index URL of a python
	// distribution, the image name (HOST/<base-path>) of a container one,
	// else the URL under which its files are.
	URL string `json:"url"`
	// Use is a command line using it.
	Use string `json:"use"`
	// Instructions are the command lines clients use it with, Use first.
	Instructions []string `json:"instructions,omitempty"`
}

// ClientGuide is implemented by content kinds (the store's repo.Kind
// values) that tell how clients use a distribution of theirs.
type ClientGuide interface {
	// ClientAccess returns what a client is given for the distribution
	// and the command lines using it. contentURL is where the server
	// serves its content (ending in '/'); image is its name as an image
	// of the server's registry (HOST[/PREFIX]/<base-path>).
	ClientAccess(contentURL, image string) (url string, use []string)
}

// ClientAccess returns how clients reach d on the server at base (its
// public URL: scheme, host and any path prefix), as its kind (looked up
// in kinds) tells; a kind that says nothing serves files at their URLs.
func ClientAccess(d *dist.Distribution, base string, kinds *repo.Kinds) Access {
	base = strings.TrimSuffix(base, "/")
	content := base + ContentPrefix + d.BasePath + "/"
	host := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		host = u.Host + strings.TrimSuffix(u.Path, "/")
	}
	a := Access{URL: content, Instructions: []string{"curl -O " + content + "PATH"}}
	if kinds != nil {
		if k, err := kinds.Lookup(d.Kind); err == nil {
			if g, ok := k.(ClientGuide); ok {
				if u, use := g.ClientAccess(content, host+"/"+nameUnder(d)); len(use) > 0 {
					a.URL, a.Instructions = u, use
				}
			}
		}
	}
	a.Use = a.Instructions[0]
	return a
}

// Home answers GET / of a pkgvc server with a small page saying what it
// serves: where distributions, the container registry and the API are,
// and how clients use each public distribution; on a server without any,
// the commands that make one. Its base URL is publicURL, else the one the
// request came to.
func Home(dists *dist.Dists, publicURL string) http.Handler {
	kinds := dists.Store().Kinds()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := publicURL
		if base == "" {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			base = scheme + "://" + r.Host
		}
		page, err := homePage(r.Context(), dists, kinds, strings.TrimSuffix(base, "/"))
		if err != nil {
			textError(w, http.StatusInternalServerError, "internal error: cannot list distributions")
			return
		}
		h := w.Header()
		h["Content-Type"] = htmlType
		h["X-Content-Type-Options"] = nosniff
		h["Content-Security-Policy"] = contentCSP
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_ = homeTemplate.Execute(w, page) // a client gone mid-page is no error here
	})
}

type homeDist struct {
	Name, Kind, BasePath string
	Access
}

type homeData struct {
	Base    string
	Dists   []homeDist
	Private int
}

func homePage(ctx context.Context, dists *dist.Dists, kinds *repo.Kinds, base string) (*homeData, error) {
	all, err := dists.List(ctx)
	if err != nil {
		return nil, err
	}
	p := &homeData{Base: base}
	for i := range all {
		d := &all[i]
		if d.Private {
			p.Private++ // not named to whoever asks
			continue
		}
		p.Dists = append(p.Dists, homeDist{Name: d.Name, Kind: d.Kind, BasePath: d.BasePath, Access: ClientAccess(d, base, kinds)})
	}
	return p, nil
}

var homeTemplate = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pkgvc</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee}</style></head>
<body><h1>pkgvc</h1>
<p>This server answers:</p>
<ul>
<li><code>{{.Base}}/content/&lt;base-path&gt;/</code>: distributions (files, pip indexes at <code>…/simple/</code>)</li>
<li><code>{{.Base}}/v2/</code>: container distributions, as a registry</li>
<li><code>{{.Base}}/api/v1/</code>: the REST API (<code>pkgvc --server {{.Base}} …</code>, with a token)</li>
</ul>
{{if .Dists}}<h2>Distributions</h2>
<ul>{{range .Dists}}
<li>{{.Name}} ({{.Kind}}): <code>{{.URL}}</code>{{range .Instructions}} — <code>{{.}}</code>{{end}}</li>{{end}}
</ul>{{if .Private}}<p>and {{.Private}} private one(s), for token holders.</p>{{end}}
{{else if .Private}}<p>Its {{.Private}} distribution(s) are private, for token holders.</p>
{{else}}<p>No distribution yet. Make one on the server's store:</p>
<pre>pkgvc repo create NAME
pkgvc commit NAME FILE...
pkgvc dist create NAME --base-path PATH --repo NAME</pre>
{{end}}</body></html>
`))

// nameUnder is the name clients give to reach d: its base path, or for a
// namespace cache a project under it.
func nameUnder(d *dist.Distribution) string {
	switch {
	case !d.Namespace():
		return d.BasePath
	case d.BasePath == dist.RootBasePath:
		return "NAME"
	}
	return d.BasePath + "/NAME"
}
