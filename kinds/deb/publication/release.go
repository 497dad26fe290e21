package publication

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/repo"
)

// indexFile is an index of the publication as the Release lists it: rel
// its path under dists/<suite>/.
type indexFile struct {
	rel       string
	size      int64
	md5, sha1 string
	sha256    string
}

// releaseDate is how the Release dates itself: RFC 2822, in UTC.
const releaseDate = "Mon, 02 Jan 2006 15:04:05 UTC"

// releaseText is the Release file of the suite of s, dated at (the
// version's time: the publication is a function of its version and
// settings), listing files.
func releaseText(s deb.DistSettings, at time.Time, files []indexFile) ([]byte, error) {
	valid, err := s.ValidDuration()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	field := func(k, v string) { b.WriteString(k + ": " + v + "\n") }
	field("Origin", s.Origin)
	field("Label", s.Label)
	field("Suite", s.Suite)
	field("Codename", s.Codename)
	at = at.UTC()
	field("Date", at.Format(releaseDate))
	if valid > 0 {
		field("Valid-Until", at.Add(valid).Format(releaseDate))
	}
	field("Architectures", strings.Join(s.Architectures, " "))
	field("Components", strings.Join(s.Components, " "))
	field("Description", s.Label+" "+s.Suite)
	field("Acquire-By-Hash", "yes")
	for _, a := range s.Architectures {
		if a == "all" {
			// Architecture: all packages are in every binary-<arch>
			// index too, as in Debian's archive.
			field("No-Support-for-Architecture-all", "Packages")
		}
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(x, y indexFile) int { return strings.Compare(x.rel, y.rel) })
	width := 0
	for _, f := range files {
		width = max(width, len(strconv.FormatInt(f.size, 10)))
	}
	for _, h := range []struct {
		name string
		sum  func(indexFile) string
	}{
		{"MD5Sum", func(f indexFile) string { return f.md5 }},
		{"SHA1", func(f indexFile) string { return f.sha1 }},
		{"SHA256", func(f indexFile) string { return f.sha256 }},
	} {
		b.WriteString(h.name + ":\n")
		for _, f := range files {
			fmt.Fprintf(&b, " %s %*d %s\n", h.sum(f), width, f.size, f.rel)
		}
	}
	return b.Bytes(), nil
}

// signed returns InRelease and Release.gpg of release, signed with the
// key the settings name; nil without one.
func signed(ctx context.Context, st *repo.Store, s deb.DistSettings, release []byte) (inRelease, gpg []byte, err error) {
	if s.SignKey == "" {
		return nil, nil, nil
	}
	signer, err := keys.New(st.Meta()).OpenPGPSigner(ctx, s.SignKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign the Release with key %s: %w", s.SignKey, err)
	}
	var in, det bytes.Buffer
	if err := signer.ClearSign(&in, bytes.NewReader(release)); err != nil {
		return nil, nil, err
	}
	if err := signer.DetachSign(&det, bytes.NewReader(release)); err != nil {
		return nil, nil, err
	}
	return in.Bytes(), det.Bytes(), nil
}
