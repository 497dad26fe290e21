package upstream

import (
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/remote"
)

// Options are a python remote's settings (remote.Remote.Options).
type Options struct {
	// Projects lists the projects to sync, each a name with an optional
	// PEP 440 specifier set ("django>=4.2,<5"); empty syncs every project
	// the index lists.
	Projects []string `json:"projects,omitempty"`
	// Platforms keeps wheels whose platform tag matches one of these
	// path.Match patterns (sdists and "any" wheels always stay).
	Platforms []string `json:"platforms,omitempty"`
	// Latest keeps the N latest versions per project (0: all).
	Latest int `json:"latest,omitempty"`
	// Prerelease keeps pre- and dev-releases.
	Prerelease bool `json:"prerelease,omitempty"`
	// AllowHosts names the hosts besides the index's own that files may
	// be downloaded from.
	AllowHosts []string `json:"allow_hosts,omitempty"`
}

// RemoteOptions declares the python remote settings.
func (Syncer) RemoteOptions() []remote.OptionSpec {
	return []remote.OptionSpec{
		{Field: "projects", Flag: "project", Type: remote.ListOption, Unset: "(all)",
			Usage: "sync only `PROJECT`, a name with an optional PEP 440 specifier set such as 'django>=4.2,<5' (repeatable; default: every project)"},
		{Field: "platforms", Flag: "platform", Type: remote.ListOption, Unset: "(all)",
			Usage: "keep only wheels whose platform tag matches `TAG` (a pattern such as manylinux*_x86_64; repeatable), plus sdists and 'any' wheels"},
		{Field: "latest", Flag: "latest", Type: remote.IntOption, Unset: "0 (all versions)",
			Usage: "keep only the `N` latest versions of each project (0: all)"},
		{Field: "prerelease", Flag: "prerelease", Type: remote.BoolOption, Unset: "false",
			Usage: "keep pre- and dev-releases (otherwise only those a --project specifier names)"},
		{Field: "allow_hosts", Flag: "allow-host", Type: remote.ListOption,
			Usage: "also download files from `HOST` (e.g. files.pythonhosted.org; repeatable)"},
	}
}

// RemoteOptionsOf decodes r's settings.
func RemoteOptionsOf(r *remote.Remote) (Options, error) {
	var o Options
	if err := r.Options.Decode(&o); err != nil {
		return Options{}, err
	}
	if o.Latest < 0 {
		return Options{}, fmt.Errorf("latest %d: want 0 (all versions) or more", o.Latest)
	}
	for _, p := range o.Projects {
		if strings.TrimSpace(p) == "" {
			return Options{}, fmt.Errorf("empty project")
		}
	}
	for _, p := range o.Platforms {
		if p == "" || strings.ContainsAny(p, " \t\r\n") {
			return Options{}, fmt.Errorf("platform %q: empty or white space", p)
		}
	}
	for _, h := range o.AllowHosts {
		if h == "" || strings.ContainsAny(h, "/@ \t\r\n?#") {
			return Options{}, fmt.Errorf("allowed host %q: want a host name, optionally with :port", h)
		}
	}
	return o, nil
}

// With returns r with its settings replaced by o.
func (o Options) With(r remote.Remote) remote.Remote {
	opts, err := remote.EncodeOptions(o)
	if err != nil {
		panic(err) // a struct of strings, ints and bools always encodes
	}
	r.Options = opts
	return r
}
