package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/remote"
)

var (
	// ErrUnsigned marks an upstream whose Release carries no signature.
	ErrUnsigned = errors.New("upstream Release is not signed (give --allow-unsigned to accept it)")
	// ErrBadSignature marks a Release whose signature does not verify
	// with the remote's keyring.
	ErrBadSignature = errors.New("upstream Release signature does not verify with the keyring")
	// ErrIndexMismatch marks an index whose bytes are not those the
	// signed Release lists.
	ErrIndexMismatch = errors.New("index does not match the signed Release")
)

// Limits on what the sync reads into memory.
const (
	maxKeyring = 16 << 20
	maxRelease = 64 << 20
)

// loadKeyring reads a binary or armored OpenPGP keyring.
func loadKeyring(name string) (openpgp.EntityList, error) {
	b, err := readFileMax(name, maxKeyring)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var ks openpgp.EntityList
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN PGP")) {
		ks, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	} else {
		ks, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", name, err)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("keyring %s: no public key", name)
	}
	return ks, nil
}

// release is a suite's verified Release.
type release struct {
	p      format.Paragraph
	sha256 map[string]fileSum // by path under dists/<suite>/
}

type fileSum struct {
	sha256 string
	size   int64
}

// fetchRelease reads dists/<suite>/InRelease, else Release and
// Release.gpg, verifies the signature as o says, and parses it.
func fetchRelease(ctx context.Context, up remote.Upstream, o Options, dists string) (*release, error) {
	var ks openpgp.EntityList
	if o.Keyring != "" {
		var err error
		if ks, err = loadKeyring(o.Keyring); err != nil {
			return nil, err
		}
	}
	text, err := signedRelease(ctx, up, o, ks, dists)
	if err != nil {
		return nil, err
	}
	return parseRelease(text, o.Suite, time.Now())
}

// signedRelease returns the Release text, verified.
func signedRelease(ctx context.Context, up remote.Upstream, o Options, ks openpgp.EntityList, dists string) ([]byte, error) {
	in, err := getSmall(ctx, up, dists+"InRelease")
	if err == nil {
		return verifyInRelease(in, ks, o.AllowUnsigned)
	}
	if !notFound(err) {
		return nil, err
	}
	rel, err := getSmall(ctx, up, dists+"Release")
	if err != nil {
		return nil, fmt.Errorf("neither InRelease nor Release: %w", err)
	}
	sig, err := getSmall(ctx, up, dists+"Release.gpg")
	switch {
	case notFound(err):
		if !o.AllowUnsigned {
			return nil, fmt.Errorf("%s: %w", dists, ErrUnsigned)
		}
		return rel, nil
	case err != nil:
		return nil, err
	}
	if ks == nil { // --allow-unsigned without a keyring: nothing to check with
		return rel, nil
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(ks, bytes.NewReader(rel), bytes.NewReader(sig), nil); err != nil {
		return nil, fmt.Errorf("%sRelease.gpg: %w: %v", dists, ErrBadSignature, err)
	}
	return rel, nil
}

// verifyInRelease checks a clearsigned InRelease and returns its text.
func verifyInRelease(in []byte, ks openpgp.EntityList, allowUnsigned bool) ([]byte, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(in, " \t\r\n"), []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
		if allowUnsigned {
			return in, nil
		}
		return nil, fmt.Errorf("InRelease: %w", ErrUnsigned)
	}
	b, rest := clearsign.Decode(in)
	if b == nil {
		return nil, fmt.Errorf("InRelease: %w: not a clearsigned message", ErrBadSignature)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("InRelease: %w: text after the signature", ErrBadSignature)
	}
	if ks == nil {
		return b.Plaintext, nil
	}
	if _, err := b.VerifySignature(ks, nil); err != nil {
		return nil, fmt.Errorf("InRelease: %w: %v", ErrBadSignature, err)
	}
	return b.Plaintext, nil
}

// parseRelease parses a Release text and checks it is the suite's and
// still valid.
func parseRelease(text []byte, suite string, now time.Time) (*release, error) {
	ps, err := format.ParseParagraphs(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("Release: %w", err)
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("Release: %d paragraphs, expected 1", len(ps))
	}
	r := &release{p: ps[0], sha256: map[string]fileSum{}}
	s, c := r.p.Value("Suite"), r.p.Value("Codename")
	if (s != "" || c != "") && s != suite && c != suite {
		return nil, fmt.Errorf("Release is of suite %q (codename %q), not %q", s, c, suite)
	}
	if vu := r.p.Value("Valid-Until"); vu != "" {
		t, err := parseDate(vu)
		if err != nil {
			return nil, fmt.Errorf("Release Valid-Until %q: %w", vu, err)
		}
		if now.After(t) {
			return nil, fmt.Errorf("Release expired at %s (Valid-Until)", t.UTC().Format(time.RFC1123))
		}
	}
	list := r.p.Value("SHA256")
	if list == "" {
		return nil, errors.New("Release has no SHA256 list")
	}
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("Release SHA256 line %q: want hash, size and path", trunc(l))
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 || !isHex(f[0], sha256.Size) {
			return nil, fmt.Errorf("Release SHA256 line %q: bad hash or size", trunc(l))
		}
		r.sha256[f[2]] = fileSum{sha256: strings.ToLower(f[0]), size: size}
	}
	return r, nil
}

// parseDate reads a Release date (RFC 2822, as Debian writes them).
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, "Mon, _2 Jan 2006 15:04:05 MST", "Mon, _2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not an RFC 2822 date")
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// getSmall GETs a small document (a Release, a signature) whole.
func getSmall(ctx context.Context, up remote.Upstream, url string) ([]byte, error) {
	body, err := up.Client.Open(ctx, url, -1)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxRelease+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRelease {
		return nil, fmt.Errorf("%s: larger than %d bytes", url, maxRelease)
	}
	return b, nil
}

func notFound(err error) bool {
	var se *httpx.StatusError
	return errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusGone)
}
