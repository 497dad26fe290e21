package format

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
)

// Digest algorithms a registry serves. A blob is stored by its SHA-256;
// a sha512 digest names the same bytes through an alias the container
// kind records beside it.
const (
	SHA256 = "sha256"
	SHA512 = "sha512"
)

// hexLen is the length of each algorithm's encoded digest.
var hexLen = map[string]int{SHA256: 64, SHA512: 128}

// ParseDigestAlg checks a sha256 or sha512 digest and returns its
// algorithm and lower-case hex. Another well-formed algorithm gives
// ErrUnsupportedDigest.
func ParseDigestAlg(d string) (alg, enc string, err error) {
	if !digestRE.MatchString(d) {
		return "", "", fmt.Errorf("%w: %q: use sha256:<64 hex digits> or sha512:<128 hex digits>", ErrInvalidDigest, d)
	}
	alg, enc, _ = strings.Cut(d, ":")
	n, ok := hexLen[alg]
	if !ok {
		return "", "", fmt.Errorf("%w: %q: only sha256 and sha512 digests are supported", ErrUnsupportedDigest, d)
	}
	if len(enc) != n || strings.ToLower(enc) != enc {
		return "", "", fmt.Errorf("%w: %q: a %s digest has %d lower-case hex digits", ErrInvalidDigest, d, alg, n)
	}
	if _, err := hex.DecodeString(enc); err != nil {
		return "", "", fmt.Errorf("%w: %q: not hex", ErrInvalidDigest, d)
	}
	return alg, enc, nil
}

// ValidHex reports whether enc is the lower-case hex of an alg digest.
func ValidHex(alg, enc string) bool {
	_, _, err := ParseDigestAlg(alg + ":" + enc)
	return err == nil
}

// DigestOf returns the alg digest of data, as "<alg>:<hex>" (alg is
// sha256 or sha512).
func DigestOf(alg string, data []byte) string {
	if alg == SHA512 {
		sum := sha512.Sum512(data)
		return SHA512 + ":" + hex.EncodeToString(sum[:])
	}
	return Digest(data)
}
