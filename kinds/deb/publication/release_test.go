package publication_test

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/repo"
)

// release is a parsed Release file: fields, and the checksum lists by
// hash name, path -> (hex, size).
type release struct {
	fields map[string]string
	sums   map[string]map[string]sumSize
}

type sumSize struct {
	hex  string
	size int64
}

func parseRelease(t testing.TB, text string) release {
	t.Helper()
	ps, err := format.ParseParagraphs(strings.NewReader(text))
	require.NoError(t, err)
	require.Len(t, ps, 1, "a Release is one paragraph")
	r := release{fields: map[string]string{}, sums: map[string]map[string]sumSize{}}
	for _, f := range ps[0].Fields {
		list, ok := strings.CutPrefix(f.Value, "\n")
		if !ok {
			require.NotContains(t, f.Value, "\n", "a continuation line outside a checksum list: %s", f.Name)
			r.fields[f.Name] = f.Value
			continue
		}
		// A checksum list: an empty first line, then one file a line.
		r.fields[f.Name] = ""
		r.sums[f.Name] = map[string]sumSize{}
		for _, l := range strings.Split(list, "\n") {
			w := strings.Fields(l)
			require.Len(t, w, 3, "Release line %q", l)
			n, err := strconv.ParseInt(w[1], 10, 64)
			require.NoError(t, err)
			r.sums[f.Name][w[2]] = sumSize{w[0], n}
		}
	}
	return r
}

// stanzas parses a Packages file: one map per stanza.
func stanzas(t testing.TB, data []byte) []map[string]string {
	t.Helper()
	ps, err := format.ParseParagraphs(bytes.NewReader(data))
	require.NoError(t, err)
	var out []map[string]string
	for _, p := range ps {
		m := map[string]string{}
		for _, f := range p.Fields {
			m[f.Name] = f.Value
		}
		out = append(out, m)
	}
	return out
}

func gunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data)) // reads every member
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

func unxz(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := xz.NewReader(bytes.NewReader(data)) // reads every stream
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	// xz itself, as apt's liblzma, reads the concatenated streams too.
	cmd := exec.Command("xz", "-dc")
	cmd.Stdin = bytes.NewReader(data)
	sys, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, string(out), string(sys))
	// A sync from a pkgvc publication reads it through format's guard.
	gr, release, err := format.Decompress(bytes.NewReader(data), format.CompXz, 1<<30)
	require.NoError(t, err)
	defer release()
	guarded, err := io.ReadAll(gr)
	require.NoError(t, err)
	require.Equal(t, string(out), string(guarded))
	return out
}

// checkPublication checks a publication's Release against its files:
// fields, every listed index's checksums and size, its by-hash copies,
// the compressed forms against the plain one, and both signatures with
// gpgv. It returns the Release and the stanzas of each index directory.
func checkPublication(t *testing.T, fs map[string][]byte, keyring, suite string) (release, map[string][]map[string]string) {
	t.Helper()
	dir := "dists/" + suite + "/"
	rel := parseRelease(t, string(fs[dir+"Release"]))
	for _, h := range []string{"MD5Sum", "SHA1", "SHA256"} {
		require.NotEmpty(t, rel.sums[h], "Release has no %s list", h)
	}
	require.Equal(t, "yes", rel.fields["Acquire-By-Hash"])
	date, err := time.Parse(time.RFC1123, rel.fields["Date"])
	require.NoError(t, err, "Date %q", rel.fields["Date"])
	require.Equal(t, "UTC", date.Location().String())
	require.True(t, strings.HasSuffix(rel.fields["Date"], " UTC"))
	plains := map[string][]byte{}
	for p, s := range rel.sums["SHA256"] {
		data, ok := fs[dir+p]
		require.True(t, ok, "Release lists %s, not published", p)
		require.Equal(t, s.size, int64(len(data)), p)
		s256, s1, m5 := sha256.Sum256(data), sha1.Sum(data), md5.Sum(data)
		require.Equal(t, s.hex, hex.EncodeToString(s256[:]), p)
		require.Equal(t, sumSize{hex.EncodeToString(s1[:]), s.size}, rel.sums["SHA1"][p], p)
		require.Equal(t, sumSize{hex.EncodeToString(m5[:]), s.size}, rel.sums["MD5Sum"][p], p)
		d := dir + p[:strings.LastIndexByte(p, '/')+1] + "by-hash/"
		for h, sum := range map[string][]byte{"SHA256": s256[:], "SHA1": s1[:], "MD5Sum": m5[:]} {
			require.Equal(t, data, fs[d+h+"/"+hex.EncodeToString(sum)], "by-hash/%s of %s", h, p)
		}
		plain := data
		switch {
		case strings.HasSuffix(p, ".gz"):
			plain = gunzip(t, data)
		case strings.HasSuffix(p, ".xz"):
			plain = unxz(t, data)
		}
		base := strings.TrimSuffix(strings.TrimSuffix(p, ".gz"), ".xz")
		if prev, ok := plains[base]; ok {
			require.Equal(t, string(prev), string(plain), "%s does not decompress to %s", p, base)
		}
		plains[base] = plain
	}
	require.Len(t, rel.sums["MD5Sum"], len(rel.sums["SHA256"]))
	require.Len(t, rel.sums["SHA1"], len(rel.sums["SHA256"]))
	if keyring != "" {
		tmp := t.TempDir()
		for _, f := range []string{"Release", "InRelease", "Release.gpg"} {
			require.Contains(t, fs, dir+f)
			require.NoError(t, os.WriteFile(filepath.Join(tmp, f), fs[dir+f], 0o644))
		}
		out, err := exec.Command("gpgv", "--keyring", keyring, "--output", filepath.Join(tmp, "signed"), filepath.Join(tmp, "InRelease")).CombinedOutput()
		require.NoError(t, err, "gpgv InRelease: %s", out)
		signed, err := os.ReadFile(filepath.Join(tmp, "signed"))
		require.NoError(t, err)
		require.Equal(t, string(fs[dir+"Release"]), string(signed), "InRelease signs another text than Release")
		out, err = exec.Command("gpgv", "--keyring", keyring, filepath.Join(tmp, "Release.gpg"), filepath.Join(tmp, "Release")).CombinedOutput()
		require.NoError(t, err, "gpgv Release.gpg: %s", out)
	}
	idx := map[string][]map[string]string{}
	for base, plain := range plains {
		idx[base] = stanzas(t, plain)
	}
	return rel, idx
}

func names(ss []map[string]string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s["Package"]+"="+s["Version"])
	}
	return out
}

// TestRelease: a signed publication of two components and two
// architectures, checked as apt and gpgv read it.
func TestRelease(t *testing.T) {
	e := newEnv(t)
	tmp := t.TempDir()
	var recs []repo.Record
	var debs = map[string][]byte{}
	for _, c := range []struct {
		comp string
		s    debSpec
	}{
		{"main", debSpec{name: "hello-a", version: "1.0", arch: "all", depends: "hello-b (>= 2.0)"}},
		{"main", debSpec{name: "hello-b", version: "1:2.0-1", arch: "amd64"}},
		{"main", debSpec{name: "libhello1", version: "2.0-1", arch: "arm64", source: "hello-b"}},
		{"contrib", debSpec{name: "extra", version: "0.1", arch: "amd64"}},
		{"non-free", debSpec{name: "hidden", version: "0.1", arch: "all"}},
	} {
		data, ctl := mkdeb(t, tmp, c.s)
		r := e.record(t, c.comp, c.s, data, ctl)
		debs[r.Path] = data
		recs = append(recs, r)
	}
	v := e.commit(t, recs)
	pubs, log := tracked(e.st)
	s := stable
	s.Components = []string{"main", "contrib"}
	s.ValidFor = "7d"
	s.Origin, s.Label = "Example", "Example Label"
	pub, err := pubs.ForParams(e.ctx, "deb", v, settings(t, s))
	require.NoError(t, err)
	require.Equal(t, []built{{false, 0}}, *log)
	fs := files(t, e.ctx, pub)
	rel, idx := checkPublication(t, fs, e.gpgKeyring(t, tmp), "stable")
	for k, want := range map[string]string{
		"Origin": "Example", "Label": "Example Label", "Suite": "stable", "Codename": "stable",
		"Architectures": "amd64 all", "Components": "main contrib",
		"Date":        v.Time.UTC().Format("Mon, 02 Jan 2006 15:04:05 UTC"),
		"Valid-Until": v.Time.UTC().Add(7 * 24 * time.Hour).Format("Mon, 02 Jan 2006 15:04:05 UTC"),
	} {
		require.Equal(t, want, rel.fields[k], k)
	}
	var listed []string
	for p := range rel.sums["SHA256"] {
		listed = append(listed, p)
	}
	require.ElementsMatch(t, []string{
		"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz",
		"main/binary-all/Packages", "main/binary-all/Packages.gz", "main/binary-all/Packages.xz",
		"contrib/binary-amd64/Packages", "contrib/binary-amd64/Packages.gz", "contrib/binary-amd64/Packages.xz",
		"contrib/binary-all/Packages", "contrib/binary-all/Packages.gz", "contrib/binary-all/Packages.xz",
	}, listed)
	// all in every binary-<arch>; arm64 is not published; non-free is
	// not a component of the distribution.
	require.ElementsMatch(t, []string{"hello-a=1.0", "hello-b=1:2.0-1"}, names(idx["main/binary-amd64/Packages"]))
	require.ElementsMatch(t, []string{"hello-a=1.0"}, names(idx["main/binary-all/Packages"]))
	require.ElementsMatch(t, []string{"extra=0.1"}, names(idx["contrib/binary-amd64/Packages"]))
	require.Empty(t, idx["contrib/binary-all/Packages"])
	for _, st := range append(idx["main/binary-amd64/Packages"], idx["contrib/binary-amd64/Packages"]...) {
		data := debs[st["Filename"]]
		require.NotNil(t, data, "Filename %s is no record", st["Filename"])
		s256 := sha256.Sum256(data)
		require.Equal(t, hex.EncodeToString(s256[:]), st["SHA256"])
		require.Equal(t, strconv.Itoa(len(data)), st["Size"])
		require.NotEmpty(t, st["MD5sum"])
		require.NotEmpty(t, st["SHA1"])
		require.Equal(t, "pkgvc test <test@example.invalid>", st["Maintainer"])
	}
	require.Equal(t, "hello-b (>= 2.0)", idx["main/binary-all/Packages"][0]["Depends"])
	for p := range fs {
		require.True(t, strings.HasPrefix(p, "dists/stable/"), p)
	}
}
