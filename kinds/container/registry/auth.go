package registry

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/httpx"
)

// Service is the service name of the Bearer challenge.
const Service = "pkgvc"

// anonPrefix starts every anonymous token, so that it is told apart from
// a pkgvc token without a lookup.
const anonPrefix = "pkgvc-anon."

// anonToken returns an anonymous token. It grants nothing a request
// without credentials would not get (public pulls), so it needs no
// signature: any server sharing the store accepts it, after a restart too.
// The expiry only tells clients when to ask again.
func anonToken(exp time.Time) string {
	return anonPrefix + strconv.FormatInt(exp.Unix(), 10)
}

// challenge answers 401 with the Bearer challenge pointing at /token.
func challenge(w http.ResponseWriter, r *http.Request, scope, msg string) {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	c := `Bearer realm="` + scheme + "://" + r.Host + `/token",service="` + Service + `"`
	if scope != "" {
		c += `,scope="` + scope + `"`
	}
	w.Header().Set("WWW-Authenticate", c)
	writeError(w, http.StatusUnauthorized, codeUnauthorized, msg, nil)
}

// authFailed answers a failed token check.
func authFailed(w http.ResponseWriter, r *http.Request, err error, scope, forbidden string) {
	var lim *content.AuthLimitError
	switch {
	case errors.As(err, &lim):
		httpx.SetRetryAfter(w.Header(), lim.RetryAfter)
		writeError(w, http.StatusTooManyRequests, codeTooManyRequests, "too many failed authentications from this address", nil)
	case errors.Is(err, auth.ErrForbidden):
		writeError(w, http.StatusForbidden, codeDenied, forbidden, nil)
	default:
		challenge(w, r, scope, "unknown, revoked or expired token")
	}
}

// serveBase answers GET /v2/: 200 with valid credentials, else a challenge.
func (g *registry) serveBase(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		notAllowed(w, "GET, HEAD")
		return
	}
	tok, ok := auth.Credentials(r)
	if !ok {
		challenge(w, r, "", "send a pkgvc token (HTTP Basic password), or a Bearer token from /token")
		return
	}
	// Any anonymous token passes here: it grants nothing beyond public
	// pulls, and one signed by another serve process sharing the store
	// (or before a restart) must not send a client round in circles.
	if !strings.HasPrefix(tok, anonPrefix) {
		if _, err := g.s.CheckToken(r, tok, auth.KindRepo, "", auth.Read); err != nil && !errors.Is(err, auth.ErrForbidden) {
			authFailed(w, r, err, "", "")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "3")
	_, _ = w.Write([]byte("{}\n"))
}

// authorize checks r's right to read the distribution (or, with write, to
// push to its repository) and records the token's name as the request's
// author. Otherwise it has answered 401, 403 or 429.
func (q *request) authorize(w http.ResponseWriter, r *http.Request, write bool) bool {
	d := q.t.Dist
	action := "pull"
	if write {
		action = "pull,push"
	}
	scope := "repository:" + q.name + ":" + action
	tok, has := auth.Credentials(r)
	anon := has && strings.HasPrefix(tok, anonPrefix)
	if !has || anon {
		// An anonymous token, even one this process did not sign (another
		// serve process, or before a restart), is no credential: public
		// pulls need none, the rest get the challenge.
		if !write && !d.Private {
			return true
		}
		what := "distribution " + d.Name + " is private"
		if write {
			what = "pushing to " + q.name + " needs a token granting repo:" + d.Repo + ":write"
		}
		challenge(w, r, scope, "authentication required: "+what)
		return false
	}
	var t *auth.Token
	var err error
	switch {
	case write:
		t, err = q.g.s.CheckToken(r, tok, auth.KindRepo, d.Repo, auth.Write)
	case d.Private:
		t, err = q.g.s.CanRead(r, tok, d)
	default: // a public pull: any valid token
		t, err = q.g.s.CheckToken(r, tok, auth.KindDist, d.Name, auth.Read)
		if errors.Is(err, auth.ErrForbidden) {
			err = nil
		}
	}
	if err != nil {
		msg := "the token does not grant repo:" + d.Repo + ":write"
		if !write {
			msg = content.ReadScopes(d)
		}
		authFailed(w, r, err, scope, msg)
		return false
	}
	if t != nil && t.Name != "" {
		q.who = "token " + t.Name
	}
	return true
}

// tokenResponse is the registry token endpoint's answer.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
}

// serveToken is the token endpoint of the registry token flow: GET with
// HTTP Basic credentials (the password a pkgvc token) returns that token;
// without credentials an anonymous one. POST takes the OAuth2 password or
// refresh_token grant, as docker sends.
func (g *registry) serveToken(w http.ResponseWriter, r *http.Request) {
	var secret string
	var has, offline bool
	switch r.Method {
	case http.MethodGet:
		secret, has = auth.Credentials(r)
		offline = r.URL.Query().Get("offline_token") == "true"
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, codeUnsupported, "bad request: a form with grant_type", nil)
			return
		}
		switch r.PostForm.Get("grant_type") {
		case "password":
			secret = r.PostForm.Get("password")
			offline = r.PostForm.Get("access_type") == "offline"
		case "refresh_token":
			secret = r.PostForm.Get("refresh_token")
		default:
			writeError(w, http.StatusBadRequest, codeUnsupported, "bad request: grant_type password or refresh_token", nil)
			return
		}
		has = secret != ""
	default:
		notAllowed(w, "GET, POST")
		return
	}
	now := g.cfg.now()
	res := tokenResponse{IssuedAt: now.UTC().Format(time.RFC3339)}
	if !has {
		res.Token = anonToken(now.Add(anonTokenTTL))
		res.ExpiresIn = int(anonTokenTTL / time.Second)
	} else {
		tok, err := g.s.CheckToken(r, secret, auth.KindRepo, "", auth.Read)
		if err != nil && !errors.Is(err, auth.ErrForbidden) {
			var lim *content.AuthLimitError
			if errors.As(err, &lim) {
				authFailed(w, r, err, "", "")
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="`+Service+`"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "unknown, revoked or expired token: give a pkgvc token as the password", nil)
			return
		}
		res.Token = secret
		res.ExpiresIn = int(tokenTTL / time.Second)
		if tok != nil && !tok.Expires.IsZero() {
			res.ExpiresIn = max(int(tok.Expires.Sub(now)/time.Second), 1)
		}
		if offline {
			res.RefreshToken = secret
		}
	}
	res.AccessToken = res.Token
	body, _ := json.Marshal(res)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}
