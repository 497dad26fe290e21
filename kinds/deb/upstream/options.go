package upstream

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/remote"
)

// Options are a deb remote's settings (remote.Remote.Options).
type Options struct {
	// Suite is the dists/ directory read (a suite or codename).
	Suite string `json:"suite,omitempty"`
	// Components and Architectures to read; empty reads those the
	// Release lists.
	Components    []string `json:"components,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
	// Packages selects packages by name or path.Match pattern; empty
	// selects every package.
	Packages []string `json:"packages,omitempty"`
	// Keyring is the OpenPGP keyring file (binary or armored) the
	// upstream's Release must be signed with.
	Keyring string `json:"keyring,omitempty"`
	// AllowUnsigned accepts an upstream without a signature.
	AllowUnsigned bool `json:"allow_unsigned,omitempty"`
	// WithDeps adds the dependency closure of the selection;
	// WithRecommends follows Recommends too.
	WithDeps       bool `json:"with_deps,omitempty"`
	WithRecommends bool `json:"with_recommends,omitempty"`
}

// RemoteOptions declares the deb remote settings.
func (Syncer) RemoteOptions() []remote.OptionSpec {
	return []remote.OptionSpec{
		{Field: "suite", Flag: "suite", Type: remote.StringOption,
			Usage: "the upstream's `SUITE` (or codename): its dists/SUITE/ is read"},
		{Field: "components", Flag: "component", Type: remote.ListOption, Unset: "(all the Release lists)",
			Usage: "read `COMPONENT` of the suite (repeatable; default: every component the Release lists)"},
		{Field: "architectures", Flag: "arch", Type: remote.ListOption, Unset: "(all the Release lists)",
			Usage: "read the Packages of `ARCH` (repeatable; default: every architecture the Release lists)"},
		{Field: "packages", Flag: "package", Type: remote.ListOption, Unset: "(all)",
			Usage: "sync only the packages named `NAME` or matching a pattern such as 'lib*' (repeatable; default: every package)"},
		{Field: "keyring", Flag: "keyring", Type: remote.StringOption,
			Usage: "OpenPGP keyring `FILE` (binary or armored) that must have signed the upstream's InRelease or Release.gpg"},
		{Field: "allow_unsigned", Flag: "allow-unsigned", Type: remote.BoolOption, Unset: "false",
			Usage: "accept an upstream whose Release is not signed"},
		{Field: "with_deps", Flag: "with-deps", Type: remote.BoolOption, Unset: "false",
			Usage: "also sync what the selected packages depend on (Depends, Pre-Depends), within the suite"},
		{Field: "with_recommends", Flag: "with-recommends", Type: remote.BoolOption, Unset: "false",
			Usage: "with --with-deps, follow Recommends too"},
	}
}

// RemoteOptionsOf decodes and checks r's settings.
func RemoteOptionsOf(r *remote.Remote) (Options, error) {
	var o Options
	if err := r.Options.Decode(&o); err != nil {
		return Options{}, err
	}
	if err := o.check(); err != nil {
		return Options{}, err
	}
	return o, nil
}

func (o Options) check() error {
	if o.Suite == "" {
		return errors.New("no suite: give --suite (such as stable or bookworm)")
	}
	if !deb.ValidSuite(o.Suite) {
		return fmt.Errorf("suite %q: want a name such as stable or bookworm-updates", o.Suite)
	}
	for _, c := range o.Components {
		if !deb.ValidComponent(c) {
			return fmt.Errorf("component %q: want a name such as main", c)
		}
	}
	for _, a := range o.Architectures {
		if !format.ValidArchitecture(a) {
			return fmt.Errorf("architecture %q: want a name such as amd64 or all", a)
		}
	}
	for _, p := range o.Packages {
		if _, err := path.Match(p, ""); err != nil || p == "" || strings.ContainsAny(p, " \t\r\n/") {
			return fmt.Errorf("package %q: want a name or a pattern such as 'lib*'", p)
		}
	}
	if o.Keyring == "" && !o.AllowUnsigned {
		return errors.New("no keyring: give --keyring FILE, the key(s) the upstream signs its Release with (or --allow-unsigned)")
	}
	if o.Keyring != "" && !filepath.IsAbs(o.Keyring) {
		return fmt.Errorf("keyring %q: give an absolute path (the remote keeps the path, and a sync may run in another directory)", o.Keyring)
	}
	if o.WithRecommends && !o.WithDeps {
		return errors.New("--with-recommends needs --with-deps")
	}
	return nil
}

// ValidateRemote checks a deb remote's settings, and that its keyring
// reads (remote.RemoteValidator).
func (Syncer) ValidateRemote(r *remote.Remote) error {
	o, err := RemoteOptionsOf(r)
	if err != nil {
		return err
	}
	if o.Keyring != "" {
		if _, err := loadKeyring(o.Keyring); err != nil {
			return err
		}
	}
	return nil
}

// readFileMax reads a file of at most max bytes.
func readFileMax(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	b := make([]byte, st.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}
