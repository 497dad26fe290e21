package format

import (
	"fmt"
	"strings"
)

// Package types, as PyPI's JSON API and Pulp call them.
const (
	TypeWheel = "bdist_wheel"
	TypeSdist = "sdist"
)

// File name suffixes of the distributions ReadDist reads.
const (
	WheelExt    = ".whl"
	TarGzExt    = ".tar.gz"
	SdistZip    = ".zip"
	dotDistInfo = ".dist-info"
)

// WheelName is a parsed wheel file name,
// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
type WheelName struct {
	Name, Version, Build, Python, ABI, Platform string
}

// ParseWheelName parses a wheel's file name. Name and Version are as they
// appear in it, not normalized; both are checked (ValidName, PEP 440).
func ParseWheelName(filename string) (WheelName, error) {
	stem, ok := strings.CutSuffix(filename, WheelExt)
	if !ok {
		return WheelName{}, fmt.Errorf("%w: %q is not a wheel file name (no %s)", ErrInvalid, filename, WheelExt)
	}
	p := strings.Split(stem, "-")
	var w WheelName
	switch len(p) {
	case 5:
		w = WheelName{Name: p[0], Version: p[1], Python: p[2], ABI: p[3], Platform: p[4]}
	case 6:
		w = WheelName{Name: p[0], Version: p[1], Build: p[2], Python: p[3], ABI: p[4], Platform: p[5]}
		if w.Build == "" || w.Build[0] < '0' || w.Build[0] > '9' {
			return WheelName{}, fmt.Errorf("%w: wheel file name %q: build tag %q does not start with a digit", ErrInvalid, filename, w.Build)
		}
	default:
		return WheelName{}, fmt.Errorf("%w: wheel file name %q is not {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl", ErrInvalid, filename)
	}
	if !ValidName(w.Name) {
		return WheelName{}, fmt.Errorf("%w: wheel file name %q: %q is not a valid project name", ErrInvalid, filename, w.Name)
	}
	if _, err := NormalizeVersion(w.Version); err != nil {
		return WheelName{}, fmt.Errorf("wheel file name %q: %w", filename, err)
	}
	for _, tag := range []string{w.Python, w.ABI, w.Platform} {
		if tag == "" {
			return WheelName{}, fmt.Errorf("%w: wheel file name %q: empty compatibility tag", ErrInvalid, filename)
		}
	}
	return w, nil
}

// SdistStem returns an sdist file name without its suffix (.tar.gz or .zip).
func SdistStem(filename string) (string, bool) {
	for _, ext := range []string{TarGzExt, SdistZip} {
		if stem, ok := strings.CutSuffix(filename, ext); ok && stem != "" {
			return stem, true
		}
	}
	return "", false
}

// GuessSdistName splits an sdist stem into name and version at the last
// '-' followed by a valid version (the name may hold '-'), returning them
// normalized. Reading PKG-INFO is the reliable way; this is for records
// that carry no metadata.
func GuessSdistName(stem string) (name, version string, ok bool) {
	for i := len(stem) - 1; i > 0; i-- {
		if stem[i] != '-' || !ValidName(stem[:i]) {
			continue
		}
		if v, err := NormalizeVersion(stem[i+1:]); err == nil {
			return NormalizeName(stem[:i]), v, true
		}
	}
	return "", "", false
}
