package registry_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/repo"
	"github.com/stretchr/testify/require"
)

// crane finds the crane binary, on PATH or in GOPATH/bin.
func crane(t *testing.T) string {
	return goTool(t, "crane", "github.com/google/go-containerregistry/cmd/crane@v0.22.1")
}

// goTool finds a Go-installed client on PATH or in GOPATH/bin, skipping the
// test when it is missing.
func goTool(t *testing.T, name, install string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOPATH, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not installed (go install %s)", name, install)
	}
	return p
}

// layerTar writes a tar of one file.
func layerTar(t *testing.T, dir, name string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte(name + " " + strings.Repeat("x", 3000))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "etc/" + name + ".txt", Mode: 0o644, Size: int64(len(body))}))
	_, err := tw.Write(body)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	p := filepath.Join(dir, name+".tar")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

type runner struct {
	t   *testing.T
	bin string
	env []string
}

func (r runner) run(args ...string) (string, error) {
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (r runner) must(args ...string) string {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.env...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		r.t.Fatalf("%s %v: %v: %s", filepath.Base(r.bin), args, err, ee.Stderr)
	}
	require.NoError(r.t, err)
	return strings.TrimSpace(string(out))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestCraneSkopeo pushes Docker v2 and OCI images, platform images and a
// multi-arch index with crane, and pulls them back with crane and skopeo.
func TestCraneSkopeo(t *testing.T) {
	bin := crane(t)
	f := newFixture(t)
	dir := t.TempDir()
	cr := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker")}}
	R := f.host + "/test/img"
	digestOf := func(out string) string {
		_, d, ok := strings.Cut(out, "@")
		require.True(t, ok, out)
		return d
	}

	base := layerTar(t, dir, "base")
	_, err := cr.run("append", "-f", base, "-t", R+":v1", "--insecure")
	require.Error(t, err, "no credentials")
	wrong := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "wrong")}}
	wrong.must("auth", "login", f.host, "-u", "ci", "-p", "x"+f.admin)
	_, err = wrong.run("append", "-f", base, "-t", R+":v1", "--insecure")
	require.Error(t, err, "a wrong token")
	require.Equal(t, 0, f.versions("img"))

	cr.must("auth", "login", f.host, "-u", "ci", "-p", f.admin)
	d1 := digestOf(cr.must("append", "-f", base, "-t", R+":v1", "--insecure"))
	doci := digestOf(cr.must("append", "--oci-empty-base", "-f", base, "-t", R+":oci", "--insecure"))
	dp := map[string]string{}
	for _, a := range []string{"amd64", "arm64"} {
		cr.must("append", "--oci-empty-base", "-f", layerTar(t, dir, a), "-t", R+":"+a, "--insecure")
		dp[a] = digestOf(cr.must("mutate", R+":"+a, "--set-platform", "linux/"+a, "-t", R+":"+a, "--insecure"))
	}
	dm := digestOf(cr.must("index", "append", "-m", R+":amd64", "-m", R+":arm64", "-t", R+":multi", "--insecure"))
	require.GreaterOrEqual(t, f.versions("img"), 7)
	log, err := f.st.Reflog(f.ctx, "img")
	require.NoError(t, err)
	require.Equal(t, "token ci", log[0].Who)

	require.Equal(t, d1, cr.must("digest", R+":v1", "--insecure"))
	require.Equal(t, dm, cr.must("digest", R+":multi", "--insecure"))
	require.Equal(t, dp["arm64"], cr.must("digest", "--platform", "linux/arm64", R+":multi", "--insecure"))
	require.Equal(t, dm, sha([]byte(cr.must("manifest", R+":multi", "--insecure"))))
	var man struct {
		MediaType string
		Layers    []struct{ Digest string }
	}
	require.NoError(t, json.Unmarshal([]byte(cr.must("manifest", R+":v1", "--insecure")), &man))
	require.Equal(t, "application/vnd.docker.distribution.manifest.v2+json", man.MediaType)
	tags := strings.Fields(cr.must("ls", R, "--insecure"))
	sort.Strings(tags)
	require.Equal(t, []string{"amd64", "arm64", "multi", "oci", "v1"}, tags)
	cr.must("pull", R+":v1", filepath.Join(dir, "v1.tar"), "--insecure")
	fi, err := os.Stat(filepath.Join(dir, "v1.tar"))
	require.NoError(t, err)
	require.Positive(t, fi.Size())

	sk, err := exec.LookPath("skopeo")
	if err != nil {
		t.Log("skopeo is not installed: skipping its part")
		return
	}
	s := runner{t: t, bin: sk}
	creds := "ci:" + f.admin
	var insp struct{ Digest string }
	require.NoError(t, json.Unmarshal([]byte(s.must("inspect", "--tls-verify=false", "--creds", creds, "docker://"+R+":v1")), &insp))
	require.Equal(t, d1, insp.Digest)
	require.Equal(t, dm, sha([]byte(s.must("inspect", "--raw", "--tls-verify=false", "--creds", creds, "docker://"+R+":multi"))))
	s.must("copy", "-q", "--src-tls-verify=false", "--src-creds", creds, "docker://"+R+":v1", "dir:"+filepath.Join(dir, "dir"))
	mb, err := os.ReadFile(filepath.Join(dir, "dir", "manifest.json"))
	require.NoError(t, err)
	require.Equal(t, d1, sha(mb))
	s.must("copy", "-q", "--all", "--src-tls-verify=false", "--src-creds", creds, "docker://"+R+":multi", "dir:"+filepath.Join(dir, "dirm"))
	for _, a := range []string{"amd64", "arm64"} {
		b, err := os.ReadFile(filepath.Join(dir, "dirm", strings.TrimPrefix(dp[a], "sha256:")+".manifest.json"))
		require.NoError(t, err)
		require.Equal(t, dp[a], sha(b))
	}
	require.Equal(t, doci, cr.must("digest", R+":oci", "--insecure"))
	// skopeo pushes too, with Basic credentials through the token flow.
	s.must("copy", "-q", "--dest-tls-verify=false", "--dest-creds", creds, "dir:"+filepath.Join(dir, "dir"), "docker://"+f.host+"/other:copied")
	require.Equal(t, d1, cr.must("digest", f.host+"/other:copied", "--insecure"))
}

// TestOrasReferrers attaches an artifact to an image with oras, which
// pushes a manifest with a subject: oras discover finds it through the
// referrers API, oras pulls it back, and it is promoted with the image.
func TestOrasReferrers(t *testing.T) {
	bin := goTool(t, "oras", "oras.land/oras/cmd/oras@v1.3.6")
	f := newFixture(t)
	dir := t.TempDir()
	o := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker")}}
	creds := []string{"--plain-http", "-u", "ci", "-p", f.admin}
	img := f.image("test/img", "base", "")
	resp, body := f.putManifest("test/img", "v1", img, f.admin)
	require.Equal(t, 201, resp.StatusCode, string(body))
	ref := f.host + "/test/img:v1"

	sbom := filepath.Join(dir, "sbom.json")
	require.NoError(t, os.WriteFile(sbom, []byte(`{"sbom":"for v1"}`), 0o644))
	attach := func(flags ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"attach", "--artifact-type", "application/vnd.example.sbom", ref, "sbom.json:application/json"}, flags...)...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), o.env...) // oras takes file names relative to its directory
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := attach("--plain-http")
	require.Error(t, err, "no credentials")
	require.Contains(t, out, "unauthorized")
	out, err = attach(creds...)
	require.NoError(t, err, out)

	var found struct {
		Digest    string
		Referrers []struct {
			Digest, ArtifactType string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(o.must(append([]string{"discover", "--format", "json", ref}, creds...)...)), &found))
	require.Equal(t, sha(img), found.Digest)
	require.Len(t, found.Referrers, 1)
	require.Equal(t, "application/vnd.example.sbom", found.Referrers[0].ArtifactType)
	art := found.Referrers[0].Digest

	pulled := filepath.Join(dir, "pulled")
	o.must(append([]string{"pull", "-o", pulled, f.host + "/test/img@" + art}, creds...)...)
	got, err := os.ReadFile(filepath.Join(pulled, "sbom.json"))
	require.NoError(t, err)
	require.JSONEq(t, `{"sbom":"for v1"}`, string(got))

	// The artifact is content of the repository: a promotion carries it.
	_, err = f.st.Promote(f.ctx, []repo.Pair{{Src: "img", Dst: "other"}}, repo.PromoteOptions{Force: true})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(o.must(append([]string{"discover", "--format", "json", f.host + "/other:v1"}, creds...)...)), &found))
	require.Len(t, found.Referrers, 1)
	require.Equal(t, art, found.Referrers[0].Digest)
}
