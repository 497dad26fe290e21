package remote_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func TestManagerCRUD(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m := remote.New(e.st, remote.NewRegistry(fileKind{}), remote.WithClock(func() time.Time { return now }))

	r, err := m.Create(e.ctx, remote.Remote{Name: "up", Kind: "file", URL: "https://example.com/repo/PULP_MANIFEST"})
	require.NoError(t, err)
	require.Equal(t, remote.Immediate, r.Policy, "default policy")
	require.Equal(t, remote.DefaultConcurrency, r.DownloadConcurrency)
	require.Equal(t, now, r.Created)

	_, err = m.Create(e.ctx, remote.Remote{Name: "up", Kind: "file", URL: "https://example.com/other"})
	require.ErrorIs(t, err, repo.ErrExists)

	got, err := m.Show(e.ctx, "up")
	require.NoError(t, err)
	require.Equal(t, r, got)

	_, err = m.Create(e.ctx, remote.Remote{Name: "b2", Kind: "file", URL: "http://127.0.0.1:8080/x/PULP_MANIFEST",
		Policy: remote.OnDemand, Include: []string{"a/**"}, Retries: 5, ReadTimeout: remote.Duration(time.Minute)})
	require.NoError(t, err)
	list, err := m.List(e.ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "b2", list[0].Name)
	require.Equal(t, "up", list[1].Name)
	require.Equal(t, remote.Duration(time.Minute), list[0].ReadTimeout)

	now = now.Add(time.Hour)
	r, err = m.Update(e.ctx, "up", func(r *remote.Remote) error {
		r.Policy = remote.OnDemand
		r.Exclude = []string{"*.iso"}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, remote.OnDemand, r.Policy)
	require.Equal(t, now, r.Updated)
	require.Equal(t, now.Add(-time.Hour), r.Created)
	got, err = m.Show(e.ctx, "up")
	require.NoError(t, err)
	require.Equal(t, r, got)

	_, err = m.Update(e.ctx, "up", func(r *remote.Remote) error { r.Name = "other"; return nil })
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = m.Update(e.ctx, "up", func(r *remote.Remote) error { r.Policy = "sometimes"; return nil })
	require.ErrorIs(t, err, repo.ErrInvalid)
	got, err = m.Show(e.ctx, "up")
	require.NoError(t, err)
	require.Equal(t, r, got, "a refused update changes nothing")

	require.NoError(t, m.Delete(e.ctx, "up"))
	_, err = m.Show(e.ctx, "up")
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)
	require.ErrorIs(t, m.Delete(e.ctx, "up"), remote.ErrRemoteNotFound)
	_, err = m.Update(e.ctx, "up", func(*remote.Remote) error { return nil })
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)
	list, err = m.List(e.ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)

	// The name is free again.
	_, err = m.Create(e.ctx, remote.Remote{Name: "up", Kind: "file", URL: "https://example.com/PULP_MANIFEST"})
	require.NoError(t, err)
}

type fileKind struct{ badSyncer }

func TestManagerValidates(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("secret\n"), 0o600))
	ok := remote.Remote{Name: "ok", Kind: "file", URL: "http://h/PULP_MANIFEST"}
	cases := map[string]func(r *remote.Remote){
		"bad name":             func(r *remote.Remote) { r.Name = "Bad Name" },
		"no kind":              func(r *remote.Remote) { r.Kind = "" },
		"unknown kind":         func(r *remote.Remote) { r.Kind = "nosuch" },
		"relative url":         func(r *remote.Remote) { r.URL = "repo/PULP_MANIFEST" },
		"ftp url":              func(r *remote.Remote) { r.URL = "ftp://h/PULP_MANIFEST" },
		"user in url":          func(r *remote.Remote) { r.URL = "http://u:p@h/PULP_MANIFEST" },
		"policy":               func(r *remote.Remote) { r.Policy = "streamed" },
		"pattern":              func(r *remote.Remote) { r.Include = []string{"a/[b"} },
		"password alone":       func(r *remote.Remote) { r.PasswordFile = pw },
		"missing pw file":      func(r *remote.Remote) { r.Username = "u"; r.PasswordFile = filepath.Join(dir, "none") },
		"missing ca":           func(r *remote.Remote) { r.CACert = filepath.Join(dir, "none.pem") },
		"ca not pem":           func(r *remote.Remote) { r.CACert = pw },
		"cert, no key":         func(r *remote.Remote) { r.ClientCert = pw },
		"proxy":                func(r *remote.Remote) { r.Proxy = "not a url" },
		"user in proxy":        func(r *remote.Remote) { r.Proxy = "http://u:p@proxy:3128" },
		"proxy pw alone":       func(r *remote.Remote) { r.Proxy = "http://proxy:3128"; r.ProxyPasswordFile = pw },
		"proxy user, no proxy": func(r *remote.Remote) { r.ProxyUsername = "u" },
		"missing proxy pw file": func(r *remote.Remote) {
			r.Proxy, r.ProxyUsername, r.ProxyPasswordFile = "http://proxy:3128", "u", filepath.Join(dir, "none")
		},
		"concurrency": func(r *remote.Remote) { r.DownloadConcurrency = 1000 },
		"retries":     func(r *remote.Remote) { r.Retries = -1 },
		"timeout":     func(r *remote.Remote) { r.ReadTimeout = -1 },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			r := ok
			change(&r)
			_, err := e.m.Create(e.ctx, r)
			require.ErrorIs(t, err, repo.ErrInvalid)
		})
	}
	r := ok
	r.Username, r.PasswordFile = "u", pw
	created, err := e.m.Create(e.ctx, r)
	require.NoError(t, err)
	data, err := json.Marshal(created)
	require.NoError(t, err)
	require.NotContains(t, string(data), "secret", "the store keeps the password file's path only")
	require.Contains(t, string(data), `"password_file":`)

	r = ok
	r.Name, r.Proxy, r.ProxyUsername, r.ProxyPasswordFile = "proxied", "http://proxy:3128", "u", pw
	created, err = e.m.Create(e.ctx, r)
	require.NoError(t, err)
	data, err = json.Marshal(created)
	require.NoError(t, err)
	require.NotContains(t, string(data), "secret", "the store keeps the proxy password file's path only")
	require.Contains(t, string(data), `"proxy_password_file":`)
}

// A proxy URL stored with a password (before they were refused there) is
// never shown with it.
func TestManagerRedactsStoredProxyPassword(t *testing.T) {
	e := newEnv(t)
	legacy := remote.Remote{Name: "old", Kind: "file", URL: "http://h/PULP_MANIFEST", Policy: remote.Immediate,
		DownloadConcurrency: 1, Proxy: "http://u:s3cret@proxy:3128"}
	_, err := meta.PutJSON(e.ctx, e.st.Meta(), "remotes/old", &legacy, "")
	require.NoError(t, err)

	got, err := e.m.Show(e.ctx, "old")
	require.NoError(t, err)
	list, err := e.m.List(e.ctx)
	require.NoError(t, err)
	for _, v := range []any{got, list} {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		require.NotContains(t, string(data), "s3cret")
		require.Contains(t, string(data), "proxy:3128")
	}
	_, err = e.m.Update(e.ctx, "old", func(r *remote.Remote) error { r.Retries = 2; return nil })
	require.ErrorIs(t, err, repo.ErrInvalid, "moving the credentials out of the URL is asked for")
	require.NotContains(t, err.Error(), "s3cret")
}

func TestManagerConcurrentUpdates(t *testing.T) {
	e := newEnv(t)
	_, err := e.m.Create(e.ctx, remote.Remote{Name: "up", Kind: "file", URL: "http://h/PULP_MANIFEST"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.m.Update(e.ctx, "up", func(r *remote.Remote) error {
				r.Include = append(r.Include, fmt.Sprintf("p%d/**", i))
				return nil
			})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	r, err := e.m.Show(e.ctx, "up")
	require.NoError(t, err)
	require.Len(t, r.Include, 8, "no update is lost: %v", r.Include)
}

func TestRegistry(t *testing.T) {
	reg := remote.NewRegistry(fileKind{})
	s, err := reg.Lookup("file")
	require.NoError(t, err)
	require.Equal(t, "file", s.Kind())
	_, err = reg.Lookup("python")
	require.ErrorIs(t, err, remote.ErrUnknownKind)
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Panics(t, func() { reg.Register(fileKind{}) })
	require.Equal(t, []string{"file"}, reg.Kinds())
}
