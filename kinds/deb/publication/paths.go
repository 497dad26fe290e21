package publication

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/pkgvc/pkgvc/kinds/deb"
)

const textPlain = "text/plain; charset=utf-8"

func suiteDir(s deb.DistSettings) string { return DistsDir + s.Suite + "/" }

// indexDir is the directory of the indexes of component comp and
// architecture arch.
func indexDir(s deb.DistSettings, comp, arch string) string {
	return suiteDir(s) + comp + "/binary-" + arch + "/"
}

// byHash names the by-hash directories, as the Release names the lists.
var byHash = []string{"MD5Sum", "SHA1", "SHA256"}

func (f indexFile) sum(h string) string {
	switch h {
	case "MD5Sum":
		return f.md5
	case "SHA1":
		return f.sha1
	}
	return f.sha256
}

// byHashPaths are the by-hash paths of f, an index in dir.
func byHashPaths(dir string, f indexFile) []string {
	out := make([]string, len(byHash))
	for i, h := range byHash {
		out[i] = dir + "by-hash/" + h + "/" + f.sum(h)
	}
	return out
}

// sums returns the checksums and size of data.
func sums(data []byte) indexFile {
	m, s1, s2 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
	return indexFile{size: int64(len(data)), md5: hex.EncodeToString(m[:]), sha1: hex.EncodeToString(s1[:]), sha256: hex.EncodeToString(s2[:])}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
