// Package file is the "file" upstream kind, as in Pulp's file plugin: the
// remote's URL names a PULP_MANIFEST ("relative_path,sha256,size" per
// line), and each file sits at the manifest's directory plus its path.
package upstream

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/file/pulpmanifest"
	"github.com/pkgvc/pkgvc/remote"
)

// Syncer reads PULP_MANIFEST upstreams.
type Syncer struct{}

var _ remote.Syncer = Syncer{}

// Kind returns "file".
func (Syncer) Kind() string { return "file" }

// Index fetches and parses the manifest at the remote's URL. A manifest
// with any bad line (see pulpmanifest.Read) is an error and yields no
// package.
func (Syncer) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	base, err := url.Parse(up.Remote.URL)
	if err != nil {
		return nil, err
	}
	// Open, not Get: a manifest cut off mid-body is resumed, not half read.
	body, err := up.Client.Open(ctx, up.Remote.URL, -1)
	if err != nil {
		return nil, err
	}
	defer body.Close() // read to the end or failed: nothing more to learn
	entries, err := pulpmanifest.Parse(body)
	if err != nil {
		return nil, err
	}
	out := make([]remote.Package, len(entries))
	for i, e := range entries {
		out[i] = remote.Package{Path: e.Path, URL: FileURL(base, e.Path), SHA256: e.SHA256, Size: e.Size}
	}
	return out, nil
}

// FileURL returns the URL of the file at relative path p of the manifest
// at manifest: the manifest's directory plus p, each segment
// percent-escaped; the manifest's query and fragment are dropped.
func FileURL(manifest *url.URL, p string) string {
	u := *manifest
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	dir := u.EscapedPath()
	dir = dir[:strings.LastIndexByte(dir, '/')+1]
	if dir == "" {
		dir = "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	raw := dir + strings.Join(segs, "/")
	dec, err := url.PathUnescape(raw)
	if err != nil { // dir came from a parsed URL, the rest was escaped here
		panic(fmt.Sprintf("file: unescape %q: %v", raw, err))
	}
	u.Path, u.RawPath = dec, raw
	return u.String()
}
