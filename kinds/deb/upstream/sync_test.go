package upstream_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/upstream"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

type fixture struct {
	ctx context.Context
	st  *repo.Store
	m   *remote.Manager
}

func newFixture(t *testing.T) *fixture {
	needArchive(t)
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), all.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "mirror", repo.CreateOptions{Kind: "deb"})
	require.NoError(t, err)
	return &fixture{ctx: ctx, st: st, m: remote.New(st, remote.NewRegistry(upstream.Syncer{}))}
}

// remoteOf is a deb remote of the archive's publication prefix.
func remoteOf(name, prefix string, o upstream.Options) remote.Remote {
	if o.Suite == "" {
		o.Suite = "stable"
	}
	if o.Keyring == "" && !o.AllowUnsigned {
		o.Keyring = arc.keyring
	}
	if o.Components == nil {
		o.Components = []string{"main"}
	}
	if o.Architectures == nil {
		o.Architectures = []string{"amd64", "all"}
	}
	opts, err := remote.EncodeOptions(o)
	if err != nil {
		panic(err)
	}
	return remote.Remote{Name: name, Kind: "deb", URL: arc.url + "/" + prefix, Options: opts}
}

func (f *fixture) create(t *testing.T, r remote.Remote) {
	t.Helper()
	_, err := f.m.Create(f.ctx, r)
	require.NoError(t, err)
}

func (f *fixture) sync(t *testing.T, name string, mirror bool) (*remote.SyncResult, error) {
	t.Helper()
	return f.m.Sync(f.ctx, name, "mirror", remote.SyncOptions{Mirror: mirror})
}

// head returns the repository's records by path, and its version.
func (f *fixture) head(t *testing.T) (map[string]repo.Record, int) {
	t.Helper()
	info, err := f.st.ShowRepo(f.ctx, "mirror")
	require.NoError(t, err)
	got := map[string]repo.Record{}
	if info.Head == nil {
		return got, 0
	}
	require.NoError(t, tree.Walk(f.ctx, f.st.Objects(), info.Head.Tree, func(e tree.Entry) error {
		got[e.Path] = e
		return nil
	}))
	return got, info.Head.Number
}

func paths(m map[string]repo.Record) []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// blob reads the stored bytes of rec.
func (f *fixture) blob(t *testing.T, rec repo.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, f.m.FetchBlob(f.ctx, rec, &b))
	return b.Bytes()
}

func pool(name, file string) string { return "pool/main/" + name[:1] + "/" + name + "/" + file }

func TestSyncWholeSuite(t *testing.T) {
	f := newFixture(t)
	f.create(t, remoteOf("up", "good", upstream.Options{}))
	res, err := f.sync(t, "up", false)
	require.NoError(t, err)
	require.True(t, res.Changed)
	got, v := f.head(t)
	want := []string{pool("c-src", "c-bin_3.0-1_amd64.deb")}
	for _, s := range specs {
		if s.arch == "all" {
			want = append(want, pool(s.name, debName(s)))
		}
	}
	slices.Sort(want)
	require.Equal(t, want, paths(got), "every .deb at its pool path, the 'all' ones (listed under amd64 and all) once")
	require.Contains(t, got, "pool/main/h/hello-a/hello-a_1.0_all.deb")
	for _, s := range specs {
		p := pool(s.name, debName(s))
		if s.arch != "all" {
			p = pool("c-src", debName(s))
		}
		require.Equal(t, arc.debs[debName(s)], f.blob(t, got[p]), p)
	}
	a := got["pool/main/h/hello-a/hello-a_1.0_all.deb"].Metadata
	require.Equal(t, "hello-a", a[deb.MetaPackage])
	require.Equal(t, "1.0", a[deb.MetaVersion])
	require.Equal(t, "all", a[deb.MetaArchitecture])
	require.Len(t, a[deb.MetaMD5], 32)
	require.Len(t, a[deb.MetaSHA1], 40)
	require.True(t, strings.HasPrefix(a[deb.MetaControl], "Package: hello-a\n"), a[deb.MetaControl])
	require.Contains(t, a[deb.MetaControl], "\nDepends: hello-b (>= 2.0)\n")
	require.Contains(t, a[deb.MetaControl], "\nDescription: test package hello-a\n Built by the deb upstream tests.")
	for _, k := range []string{"Filename:", "Size:", "MD5sum:", "SHA1:", "SHA256:", "SHA512:"} {
		require.NotContains(t, a[deb.MetaControl], "\n"+k, "the upstream's file fields are not control fields")
	}
	require.False(t, strings.HasSuffix(a[deb.MetaControl], "\n"))
	b := got[pool("c-src", "c-bin_3.0-1_amd64.deb")].Metadata
	require.Equal(t, "c-src", b[deb.MetaSource])
	require.Equal(t, "1:3.0-1", b[deb.MetaVersion])

	res, err = f.sync(t, "up", false)
	require.NoError(t, err)
	require.False(t, res.Changed, "a sync of an unchanged upstream makes no version")
	_, v2 := f.head(t)
	require.Equal(t, v, v2)
}

func TestSyncReleaseGPGAndArmoredKeyring(t *testing.T) {
	f := newFixture(t)
	f.create(t, remoteOf("plain", "plain", upstream.Options{Keyring: arc.armored, Packages: []string{"hello-a"}}))
	_, err := f.sync(t, "plain", false)
	require.NoError(t, err, "Release + Release.gpg, armored keyring")
	got, _ := f.head(t)
	require.Equal(t, []string{"pool/main/h/hello-a/hello-a_1.0_all.deb"}, paths(got))
}

func TestSyncByHash(t *testing.T) {
	f := newFixture(t)
	f.create(t, remoteOf("byhash", "byhash", upstream.Options{Packages: []string{"hello-a"}}))
	_, err := f.sync(t, "byhash", false)
	require.NoError(t, err, "indexes read by their hash (Acquire-By-Hash)")
	got, _ := f.head(t)
	require.Equal(t, []string{"pool/main/h/hello-a/hello-a_1.0_all.deb"}, paths(got))
}

func TestSyncCompressions(t *testing.T) {
	for _, prefix := range []string{"bz2only", "plainonly", "xzfirst"} {
		f := newFixture(t)
		f.create(t, remoteOf("up", prefix, upstream.Options{Architectures: []string{"all"}, Packages: []string{"hello-a"}}))
		_, err := f.sync(t, "up", false)
		require.NoError(t, err, prefix)
		got, _ := f.head(t)
		require.Equal(t, []string{"pool/main/h/hello-a/hello-a_1.0_all.deb"}, paths(got), prefix)
		require.Equal(t, arc.debs["hello-a_1.0_all.deb"], f.blob(t, got["pool/main/h/hello-a/hello-a_1.0_all.deb"]), prefix)
	}
}

func TestSyncRefusesADebOfOtherBytes(t *testing.T) {
	f := newFixture(t)
	f.create(t, remoteOf("up", "badsum", upstream.Options{Architectures: []string{"all"}, Packages: []string{"hello-a"}}))
	_, err := f.sync(t, "up", false)
	require.ErrorIs(t, err, remote.ErrDigestMismatch, "hello-a's stanza gives another file's SHA256")
	require.ErrorContains(t, err, "hello-a_1.0_all.deb")
	got, v := f.head(t)
	require.Empty(t, got)
	require.Zero(t, v, "no version")
	has, err := f.st.Objects().HasBlob(f.ctx, objects.Sum(arc.debs["hello-a_1.0_all.deb"]))
	require.NoError(t, err)
	require.False(t, has, "the bytes that did not verify are not stored")
}

func TestSyncRefusals(t *testing.T) {
	f := newFixture(t)
	f.create(t, remoteOf("wrongkey", "good", upstream.Options{Keyring: arc.other}))
	f.create(t, remoteOf("wrongkey-plain", "plain", upstream.Options{Keyring: arc.other}))
	f.create(t, remoteOf("unsigned", "unsigned", upstream.Options{}))
	f.create(t, remoteOf("tampered", "bad", upstream.Options{}))
	f.create(t, remoteOf("crafted", "crafted", upstream.Options{Architectures: []string{"all"}}))
	_, err := f.sync(t, "crafted", false)
	require.ErrorContains(t, err, "no-sum: no SHA256 field", "a stanza without its hash is refused, clearly")
	for name, want := range map[string]error{
		"wrongkey": upstream.ErrBadSignature, "wrongkey-plain": upstream.ErrBadSignature,
		"unsigned": upstream.ErrUnsigned, "tampered": upstream.ErrIndexMismatch,
	} {
		_, err = f.sync(t, name, false)
		require.ErrorIs(t, err, want, name)
	}
	got, v := f.head(t)
	require.Empty(t, got)
	require.Zero(t, v, "a refused sync makes no version")
	var has bool
	has, err = f.st.Objects().HasBlob(f.ctx, objects.Sum(arc.debs["hello-a_1.0_all.deb"]))
	require.NoError(t, err)
	require.False(t, has, "nothing of a refused upstream is stored")

	f.create(t, remoteOf("unsigned-ok", "unsigned", upstream.Options{AllowUnsigned: true, Packages: []string{"hello-b"}}))
	_, err = f.sync(t, "unsigned-ok", false)
	require.NoError(t, err, "--allow-unsigned accepts it")
	got, _ = f.head(t)
	require.Equal(t, []string{"pool/main/h/hello-b/hello-b_2.0_all.deb", "pool/main/h/hello-b/hello-b_2.1_all.deb"}, paths(got))
}

func TestSyncSelection(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    upstream.Options
		want []string
	}{
		{"names", upstream.Options{Packages: []string{"hello-a", "c-low"}}, []string{"c-low_1.0", "c-low_2.0", "hello-a_1.0"}},
		{"pattern", upstream.Options{Packages: []string{"hello-*"}}, []string{"hello-a_1.0", "hello-b_2.0", "hello-b_2.1"}},
		{"with deps", upstream.Options{Packages: []string{"c-top"}, WithDeps: true},
			[]string{"c-alt_1.0", "c-first_1.0", "c-low_2.0", "c-mid_1.0", "c-prov_1.0", "c-top_1.0"}},
		{"with recommends", upstream.Options{Packages: []string{"c-top"}, WithDeps: true, WithRecommends: true},
			[]string{"c-alt_1.0", "c-first_1.0", "c-low_2.0", "c-mid_1.0", "c-prov_1.0", "c-rec_1.0", "c-recdep_1.0", "c-top_1.0"}},
		{"versioned dependency", upstream.Options{Packages: []string{"hello-a"}, WithDeps: true}, []string{"hello-a_1.0", "hello-b_2.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.create(t, remoteOf("up", "good", tc.o))
			_, err := f.sync(t, "up", false)
			require.NoError(t, err)
			got, _ := f.head(t)
			var names []string
			for _, p := range paths(got) {
				names = append(names, strings.TrimSuffix(filepath.Base(p), "_all.deb"))
			}
			require.Equal(t, tc.want, names)
		})
	}
	f := newFixture(t)
	f.create(t, remoteOf("up", "good", upstream.Options{Packages: []string{"no-such-package"}}))
	_, err := f.sync(t, "up", false)
	require.ErrorContains(t, err, "no-such-package")
}

func TestSyncMirror(t *testing.T) {
	f := newFixture(t)
	sel := upstream.Options{Packages: []string{"hello-*"}}
	f.create(t, remoteOf("up", "good", sel))
	f.create(t, remoteOf("shrunk", "shrunk", sel))
	_, err := f.sync(t, "up", false)
	require.NoError(t, err)
	b20 := "pool/main/h/hello-b/hello-b_2.0_all.deb"
	res, err := f.sync(t, "shrunk", false)
	require.NoError(t, err)
	require.False(t, res.Changed, "additive: what the upstream dropped stays")
	res, err = f.sync(t, "shrunk", true)
	require.NoError(t, err)
	require.Equal(t, 1, res.Removed)
	got, _ := f.head(t)
	require.NotContains(t, got, b20, "--mirror removes what the upstream dropped")
	require.Contains(t, got, "pool/main/h/hello-b/hello-b_2.1_all.deb")
}

func TestSyncOnDemand(t *testing.T) {
	f := newFixture(t)
	r := remoteOf("up", "good", upstream.Options{Packages: []string{"hello-a"}})
	r.Policy = remote.OnDemand
	f.create(t, r)
	res, err := f.sync(t, "up", false)
	require.NoError(t, err)
	require.Zero(t, res.Downloaded)
	got, _ := f.head(t)
	rec := got["pool/main/h/hello-a/hello-a_1.0_all.deb"]
	require.True(t, repo.IsOnDemand(rec))
	require.Equal(t, arc.url+"/good/pool/main/h/hello-a/hello-a_1.0_all.deb", rec.Metadata[repo.MetaURL])
	has, err := f.st.Objects().HasBlob(f.ctx, rec.SHA256)
	require.NoError(t, err)
	require.False(t, has, "on_demand fetches nothing during the sync")
	require.Equal(t, arc.debs["hello-a_1.0_all.deb"], f.blob(t, rec))
}

func TestRemoteValidation(t *testing.T) {
	f := newFixture(t)
	for name, o := range map[string]upstream.Options{
		"no keyring":       {Suite: "stable", Components: []string{"main"}},
		"missing keyring":  {Suite: "stable", Keyring: filepath.Join(t.TempDir(), "none.gpg")},
		"no suite":         {Keyring: arc.keyring},
		"bad suite":        {Suite: "../x", Keyring: arc.keyring},
		"bad component":    {Suite: "stable", Components: []string{"a/b"}, Keyring: arc.keyring},
		"recommends":       {Suite: "stable", Keyring: arc.keyring, WithRecommends: true},
		"relative keyring": {Suite: "stable", Keyring: "up.gpg"},
	} {
		opts, err := remote.EncodeOptions(o)
		require.NoError(t, err)
		_, err = f.m.Create(f.ctx, remote.Remote{Name: "r", Kind: "deb", URL: arc.url, Options: opts})
		require.Error(t, err, name)
	}
}

// hello-a's stanza names hello-b 2.0's SHA256 with hello-a's size, and
// hello-b 2.0 is stored already: the stored blob, reused by its digest,
// is not taken for hello-a, on either policy.
func TestSyncRefusesAStoredDigestOfOtherSize(t *testing.T) {
	for _, policy := range []remote.Policy{remote.Immediate, remote.OnDemand} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFixture(t)
			f.create(t, remoteOf("good", "good", upstream.Options{Architectures: []string{"all"}, Packages: []string{"hello-b"}}))
			_, err := f.sync(t, "good", false)
			require.NoError(t, err)
			before, v := f.head(t)
			bad := remoteOf("bad", "badsum", upstream.Options{Architectures: []string{"all"}, Packages: []string{"hello-a"}})
			bad.Policy = policy
			f.create(t, bad)
			_, err = f.sync(t, "bad", false)
			require.ErrorIs(t, err, repo.ErrInvalid, "the commit finds the blob's size is not the stanza's")
			require.ErrorContains(t, err, "hello-a")
			got, v2 := f.head(t)
			require.Equal(t, v, v2, "no version")
			require.Equal(t, paths(before), paths(got))
		})
	}
}

// The same stanza synced on demand before hello-b 2.0 is stored: the
// record is made (nothing to check it against yet), and once hello-b's
// bytes are stored they are not given out as hello-a's.
func TestSyncOnDemandDigestStoredLaterOfOtherSize(t *testing.T) {
	f := newFixture(t)
	bad := remoteOf("bad", "badsum", upstream.Options{Architectures: []string{"all"}, Packages: []string{"hello-a"}})
	bad.Policy = remote.OnDemand
	f.create(t, bad)
	_, err := f.sync(t, "bad", false)
	require.NoError(t, err)
	f.create(t, remoteOf("good", "good", upstream.Options{Architectures: []string{"all"}, Packages: []string{"hello-b"}}))
	_, err = f.sync(t, "good", false)
	require.NoError(t, err)
	got, _ := f.head(t)
	rec, ok := got[pool("hello-a", "hello-a_1.0_all.deb")]
	require.True(t, ok, "records: %v", paths(got))
	var b bytes.Buffer
	err = f.m.FetchBlob(f.ctx, rec, &b)
	require.ErrorIs(t, err, remote.ErrSizeMismatch)
	require.Zero(t, b.Len())
}

// An archive whose Release lists "all" among its architectures, without
// No-Support-for-Architecture-all, may list Architecture: all packages in
// binary-all only: apt for amd64 reads that index too, and so does a
// sync of --arch amd64.
func TestSyncArchAllIndex(t *testing.T) {
	f := newFixture(t)
	f.create(t, remoteOf("up", "allonly", upstream.Options{Architectures: []string{"amd64"}, Packages: []string{"hello-*"}}))
	_, err := f.sync(t, "up", false)
	require.NoError(t, err)
	got, _ := f.head(t)
	require.Equal(t, []string{"pool/main/h/hello-a/hello-a_1.0_all.deb", "pool/main/h/hello-b/hello-b_2.0_all.deb", "pool/main/h/hello-b/hello-b_2.1_all.deb"}, paths(got))
}
