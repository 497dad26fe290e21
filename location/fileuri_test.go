package location_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/location"
	"github.com/pkgvc/pkgvc/location/all"
	"github.com/pkgvc/pkgvc/repo"
)

// chdirTemp runs the test in an empty working directory.
func chdirTemp(t *testing.T) string {
	wd := t.TempDir()
	t.Chdir(wd)
	return wd
}

// file://HOST/PATH with a host other than localhost is refused (RFC
// 8089: a file URI with a remote authority), not opened as the relative
// directory HOST/PATH of the working directory.
func TestFileURIRemoteHostRefused(t *testing.T) {
	wd := chdirTemp(t)
	p, err := all.Registry().Open(context.Background(), "file://nas.example.com/srv/store", location.Create)
	if err == nil {
		p.Close()
	}
	_, statErr := os.Stat(filepath.Join(wd, "nas.example.com"))
	require.True(t, os.IsNotExist(statErr), "file://nas.example.com/srv/store created ./nas.example.com/srv/store in the working directory")
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, "file URI with a remote host")
}

// "file://localhostfoo/x" is host localhostfoo, not localhost and the
// relative directory "foo/x".
func TestFileURILocalhostPrefixHost(t *testing.T) {
	wd := chdirTemp(t)
	p, err := all.Registry().Open(context.Background(), "file://localhostfoo/x", location.Create)
	if err == nil {
		p.Close()
	}
	_, statErr := os.Stat(filepath.Join(wd, "foo", "x", "pkgvc-store.json"))
	require.True(t, os.IsNotExist(statErr), "file://localhostfoo/x opened ./foo/x")
}

// percent-escapes of a file URI are decoded (RFC 8089/3986):
// file:///DIR/my%20store is the directory "my store".
func TestFileURIPercentEscapes(t *testing.T) {
	base := t.TempDir()
	p, err := all.Registry().Open(context.Background(), "file://"+base+"/my%20store", location.Create)
	require.NoError(t, err)
	p.Close()
	_, err = os.Stat(filepath.Join(base, "my store", "pkgvc-store.json"))
	require.NoError(t, err, "file:///DIR/my%%20store did not open DIR/my store (it opened %q)", filepath.Join(base, "my%20store"))
}

// The single-slash form file:/DIR (RFC 8089's minimal form, what many
// tools print) is DIR, not a relative directory named "file:".
func TestFileURISingleSlash(t *testing.T) {
	wd := chdirTemp(t)
	target := filepath.Join(t.TempDir(), "store")
	p, err := all.Registry().Open(context.Background(), "file:"+target, location.Create)
	if err == nil {
		p.Close()
	}
	require.NoError(t, err)
	_, statErr := os.Stat(filepath.Join(wd, "file:"))
	require.True(t, os.IsNotExist(statErr), "file:%s created a directory ./file: in the working directory", target)
	_, err = os.Stat(filepath.Join(target, "pkgvc-store.json"))
	require.NoError(t, err, "file:%s did not open %s", target, target)
}
