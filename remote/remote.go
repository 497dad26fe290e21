package remote

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/internal/glob"
	"github.com/pkgvc/pkgvc/repo"
)

// Policy says when a sync fetches package bytes.
type Policy string

const (
	// Immediate downloads every package during the sync (the default).
	Immediate Policy = "immediate"
	// OnDemand records packages without their bytes; FetchBlob gets them
	// when they are first needed.
	OnDemand Policy = "on_demand"
)

// Defaults for zero Remote fields.
const (
	DefaultConcurrency    = 4
	DefaultRetries        = 3 // what the CLI sets; zero in a Remote means no retries
	DefaultConnectTimeout = httpx.DefaultConnectTimeout
	DefaultReadTimeout    = httpx.DefaultReadTimeout
	MaxConcurrency        = 64
	MaxRetries            = 100
)

// Duration is a time.Duration written as text ("30s") in JSON.
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses what time.ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String returns the duration as text.
func (d Duration) String() string { return time.Duration(d).String() }

// Remote is an upstream's definition. Zero values are sane defaults:
// policy immediate, DefaultConcurrency downloads at once, default
// timeouts, TLS verification on, no retries (the CLI sets DefaultRetries).
type Remote struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // the Syncer that reads it
	URL    string `json:"url"`
	Policy Policy `json:"policy"`
	// Include and Exclude filter upstream paths with internal/glob
	// patterns: a path is synced if it matches some Include (or Include
	// is empty) and no Exclude.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`

	// Username and PasswordFile give HTTP Basic credentials, sent to the
	// URL's host only. The store keeps the file's path, never the password.
	Username     string `json:"username,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
	// CACert is a PEM file of certificates that replace the system roots.
	CACert string `json:"ca_cert,omitempty"`
	// ClientCert and ClientKey are PEM files of a TLS client certificate.
	ClientCert string `json:"client_cert,omitempty"`
	ClientKey  string `json:"client_key,omitempty"`
	// Proxy is an http(s) or socks5 proxy URL without credentials; empty
	// uses $HTTPS_PROXY etc. ProxyUsername and ProxyPasswordFile
	// authenticate to it; the store keeps the file's path, never the
	// password.
	Proxy             string `json:"proxy,omitempty"`
	ProxyUsername     string `json:"proxy_username,omitempty"`
	ProxyPasswordFile string `json:"proxy_password_file,omitempty"`
	// TLSInsecure turns certificate verification off.
	TLSInsecure bool `json:"tls_insecure,omitempty"`
	// ConnectTimeout bounds dialling plus the TLS handshake; ReadTimeout
	// bounds the wait for response headers and each pause in a body.
	ConnectTimeout Duration `json:"connect_timeout,omitempty"`
	ReadTimeout    Duration `json:"read_timeout,omitempty"`
	// DownloadConcurrency is how many files download at once.
	DownloadConcurrency int `json:"download_concurrency"`
	// Retries is how often a failed request (connection error, 408, 429,
	// 5xx, dropped body) is tried again, with exponential backoff.
	Retries int `json:"retries"`

	// Options are the settings of the remote's kind (a python remote's
	// projects, a container remote's upstream repository name), which its
	// Syncer declares, decodes and checks. In JSON they sit beside the
	// common fields.
	Options Options `json:"-"`

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`

	// The API's schema of a remote lets it have the fields of its kind's
	// options.
	_ struct{} `json:"-" additionalProperties:"true"`
}

// withDefaults fills zero fields that have a default.
func (r *Remote) withDefaults() {
	if r.Policy == "" {
		r.Policy = Immediate
	}
	if r.DownloadConcurrency == 0 {
		r.DownloadConcurrency = DefaultConcurrency
	}
}

// Validate checks a remote's fields (not whether its kind is registered).
// Errors match repo.ErrInvalid.
func (r *Remote) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w remote %s: %s", repo.ErrInvalid, r.Name, fmt.Sprintf(format, args...))
	}
	if err := repo.ValidateName(r.Name); err != nil {
		return err
	}
	if r.Kind == "" {
		return bad("no kind (e.g. --kind file)")
	}
	if err := checkURL(r.URL); err != nil {
		return bad("url: %s", err)
	}
	switch r.Policy {
	case Immediate, OnDemand, "":
	default:
		return bad("policy %q: want %s or %s", r.Policy, Immediate, OnDemand)
	}
	if err := glob.Set(r.Include).Validate(); err != nil {
		return bad("include: %s", err)
	}
	if err := glob.Set(r.Exclude).Validate(); err != nil {
		return bad("exclude: %s", err)
	}
	if r.PasswordFile != "" && r.Username == "" {
		return bad("a password file needs a username")
	}
	if (r.ClientCert == "") != (r.ClientKey == "") {
		return bad("a client certificate needs both --client-cert and --client-key")
	}
	if r.Proxy != "" {
		u, err := url.Parse(r.Proxy)
		if err != nil || u.Host == "" || u.Scheme == "" {
			return bad("proxy %q: want a URL such as http://proxy:3128", redactURL(r.Proxy))
		}
		if u.User != nil {
			return bad("proxy %q: put credentials in --proxy-username and --proxy-password-file, not in the URL", redactURL(r.Proxy))
		}
	} else if r.ProxyUsername != "" || r.ProxyPasswordFile != "" {
		return bad("proxy credentials need a --proxy")
	}
	if r.ProxyPasswordFile != "" && r.ProxyUsername == "" {
		return bad("a proxy password file needs a proxy username")
	}
	if r.ConnectTimeout < 0 || r.ReadTimeout < 0 {
		return bad("timeouts cannot be negative")
	}
	if r.DownloadConcurrency < 0 || r.DownloadConcurrency > MaxConcurrency {
		return bad("download concurrency %d: want 1 to %d", r.DownloadConcurrency, MaxConcurrency)
	}
	if r.Retries < 0 || r.Retries > MaxRetries {
		return bad("retries %d: want 0 to %d", r.Retries, MaxRetries)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme == "" && !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%q has no scheme: give https://%s (or http://%s)", s, s, s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an absolute http:// or https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q: put credentials in --username and --password-file, not in the URL", s)
	}
	if strings.ContainsAny(s, "\r\n\t ") {
		return fmt.Errorf("%q: white space", s)
	}
	return nil
}

// redactURL hides the password of a URL (one stored before credentials
// were refused in it).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "xxxxx" + s[i:]
		}
		return s
	}
	return u.Redacted()
}

// redacted returns r as it may be shown: no secret in it (a proxy URL
// stored with a password before they were refused has it hidden).
func (r *Remote) redacted() *Remote {
	c := *r
	c.Proxy = redactURL(r.Proxy)
	return &c
}

// httpConfig is the client configuration r asks for.
func (r *Remote) httpConfig() httpx.Config {
	c := httpx.Config{
		Username:          r.Username,
		PasswordFile:      r.PasswordFile,
		CACertFile:        r.CACert,
		ClientCertFile:    r.ClientCert,
		ClientKeyFile:     r.ClientKey,
		Proxy:             r.Proxy,
		ProxyUsername:     r.ProxyUsername,
		ProxyPasswordFile: r.ProxyPasswordFile,
		TLSInsecure:       r.TLSInsecure,
		ConnectTimeout:    time.Duration(r.ConnectTimeout),
		ReadTimeout:       time.Duration(r.ReadTimeout),
		Retries:           r.Retries,
		MaxConns:          max(r.DownloadConcurrency, 1),
	}
	if u, err := url.Parse(r.URL); err == nil {
		c.AuthHost = u.Host
	}
	return c
}

// matcher filters upstream paths by a remote's patterns.
type matcher struct{ include, exclude glob.Set }

func (r *Remote) matcher() matcher { return matcher{glob.Set(r.Include), glob.Set(r.Exclude)} }

func (m matcher) Match(p string) bool {
	return (len(m.include) == 0 || m.include.Match(p)) && !m.exclude.Match(p)
}

// docKey is the metadata key of a remote's document.
func docKey(name string) string { return docPrefix + name }

const docPrefix = "remotes/"
