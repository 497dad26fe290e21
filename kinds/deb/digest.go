package deb

import (
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

var _ repo.DigestChecker = Kind{}

// CheckDigest checks the metadata of a record committed by digest (an
// upload's, a sync's): its control paragraph is what the publication
// writes a Packages stanza from, so it must be one paragraph without
// the fields the stanza adds, of the package the metadata names, and
// the record must lie at that package's pool path. A record without a
// control paragraph is not published and is left alone.
func (Kind) CheckDigest(p string, _ objects.ID, meta map[string]string) error {
	text := meta[MetaControl]
	if text == "" {
		return nil
	}
	ctl, err := format.ParseControl([]byte(text))
	if err != nil {
		return fmt.Errorf("%s: control metadata: %w", p, err)
	}
	for _, f := range IndexFields {
		if _, ok := ctl.Get(f); ok {
			return fmt.Errorf("%s: control metadata holds %s, which the index writes", p, f)
		}
	}
	for _, k := range []string{MetaPackage, MetaVersion, MetaArchitecture} {
		if v := ctl.Value(k); v != meta[k] {
			return fmt.Errorf("%s: control metadata says %s %q, the record %q", p, k, v, meta[k])
		}
	}
	want, err := RecordMetadata(ctl)
	if err != nil {
		return fmt.Errorf("%s: control metadata: %w", p, err)
	}
	if src := meta[MetaSource]; src != want[MetaSource] && !(src == meta[MetaPackage] && want[MetaSource] == "") {
		return fmt.Errorf("%s: control metadata says source %q, the record %q", p, want[MetaSource], src)
	}
	if strings.HasSuffix(p, ".deb") {
		return checkInPool(p, meta)
	}
	return nil
}
