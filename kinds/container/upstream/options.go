package upstream

import "github.com/pkgvc/pkgvc/remote"

// Options are a container remote's settings (remote.Remote.Options).
type Options struct {
	// UpstreamName is the repository on the registry ("library/alpine").
	UpstreamName string `json:"upstream_name,omitempty"`
	// IncludeTags and ExcludeTags filter its tags with path.Match
	// patterns, as the remote's Include and Exclude filter paths.
	IncludeTags []string `json:"include_tags,omitempty"`
	ExcludeTags []string `json:"exclude_tags,omitempty"`
	// Platforms keeps the children of multi-arch indexes whose platform
	// is one of these "os/arch[/variant]" values.
	Platforms []string `json:"platforms,omitempty"`
	// DockerHub makes a one-component image name short for
	// library/<name>, as on Docker Hub (whose host implies it), for a
	// remote standing for the whole registry (no UpstreamName).
	DockerHub bool `json:"docker_hub,omitempty"`
}

// RemoteOptions declares the container remote settings.
func (*Syncer) RemoteOptions() []remote.OptionSpec {
	return []remote.OptionSpec{
		{Field: "upstream_name", Flag: "upstream-name", Type: remote.StringOption,
			Usage: "the repository on the registry, e.g. library/alpine (--url is the registry's root)"},
		{Field: "include_tags", Flag: "include-tag", Type: remote.ListOption, Unset: "(all)",
			Usage: "sync only tags matching `GLOB` (repeatable; default: every tag)"},
		{Field: "exclude_tags", Flag: "exclude-tag", Type: remote.ListOption,
			Usage: "never sync tags matching `GLOB` (repeatable)"},
		{Field: "platforms", Flag: "platform", Type: remote.ListOption, Unset: "(all)",
			Usage: "keep only the images of multi-arch indexes for these os/arch[/variant] (e.g. linux/amd64)"},
		{Field: "docker_hub", Flag: "docker-hub", Type: remote.BoolOption, Unset: "(on Docker Hub only)",
			Usage: "without --upstream-name: a one-component name (alpine) means library/<name>, as on Docker Hub (on by default for registry-1.docker.io and docker.io)"},
	}
}

// RemoteOptionsOf decodes r's settings.
func RemoteOptionsOf(r *remote.Remote) (Options, error) {
	var o Options
	err := r.Options.Decode(&o)
	return o, err
}

// With returns r with its settings replaced by o.
func (o Options) With(r remote.Remote) remote.Remote {
	opts, err := remote.EncodeOptions(o)
	if err != nil {
		panic(err) // strings only: it always encodes
	}
	r.Options = opts
	return r
}
