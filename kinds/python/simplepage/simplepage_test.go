package simplepage_test

import (
	"bytes"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/simplepage"
)

const sum = "0000000000000000000000000000000000000000000000000000000000000001"

func page(t testing.TB) *url.URL {
	u, err := url.Parse("http://idx.example/simple/alpha/")
	require.NoError(t, err)
	return u
}

func TestParseProjectHTML(t *testing.T) {
	in := `<!DOCTYPE html><html><body>
<a href="../../files/alpha-1.0-py3-none-any.whl#sha256=` + sum + `" data-requires-python="&gt;=3.7" data-core-metadata="sha256=ab">alpha-1.0-py3-none-any.whl</a><br>
<a href="https://files.example/a/alpha-0.9.tar.gz#SHA256=` + sum + `" data-yanked="broken">alpha-0.9.tar.gz</a>
<script>document.write('<a href="javascript:x">evil</a>')</script>
<!-- <a href="javascript:y">hidden</a> -->
<a name="anchor-only">x</a>
</body></html>`
	files, err := simplepage.ParseProject(strings.NewReader(in), "text/html", page(t))
	require.NoError(t, err)
	require.Len(t, files, 2)
	require.Equal(t, "http://idx.example/files/alpha-1.0-py3-none-any.whl", files[0].URL.String())
	require.Equal(t, "alpha-1.0-py3-none-any.whl", files[0].Filename)
	require.Equal(t, map[string]string{"sha256": sum}, files[0].Hashes)
	require.Equal(t, ">=3.7", files[0].RequiresPython)
	require.Equal(t, "ab", files[0].CoreMetadataSHA256)
	require.EqualValues(t, -1, files[0].Size)
	require.True(t, files[1].Yanked)
	require.Equal(t, "broken", files[1].YankedReason)
	require.Equal(t, sum, files[1].Hashes["sha256"])
}

func TestParseProjectJSON(t *testing.T) {
	in := `{"meta":{"api-version":"1.1"},"name":"alpha","files":[
{"filename":"alpha-1.0-py3-none-any.whl","url":"../../alpha-1.0-py3-none-any.whl","hashes":{"sha256":"` + sum + `"},"size":12,"yanked":"why","core-metadata":{"sha256":"cd"},"upload-time":"2024-01-02T03:04:05.000000Z"}]}`
	files, err := simplepage.ParseProject(strings.NewReader(in), "application/vnd.pypi.simple.v1+json", page(t))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f := files[0]
	require.Equal(t, "http://idx.example/alpha-1.0-py3-none-any.whl", f.URL.String())
	require.EqualValues(t, 12, f.Size)
	require.True(t, f.Yanked)
	require.Equal(t, "cd", f.CoreMetadataSHA256)
	require.Equal(t, "2024-01-02T03:04:05.000000Z", f.UploadTime)
}

func TestHostileLinks(t *testing.T) {
	for name, href := range map[string]string{
		"javascript": "javascript:alert(1)",
		"data":       "data:text/plain,x",
		"file":       "file:///etc/passwd",
		"userinfo":   "http://u:p@idx.example/a.whl",
		"dotdot":     "http://idx.example/a/%2e%2e/b.whl",
	} {
		t.Run(name, func(t *testing.T) {
			in := `<a href="` + href + `">a-1.0.tar.gz</a>`
			_, err := simplepage.ParseProject(strings.NewReader(in), "text/html", page(t))
			require.ErrorIs(t, err, simplepage.ErrInvalid)
		})
	}
	for _, name := range []string{"../x.whl", "a/b.whl", `a\b.whl`, ".hidden", "a\x01.whl"} {
		in := `<a href="x.whl">` + strings.ReplaceAll(name, "\x01", "&#1;") + `</a>`
		_, err := simplepage.ParseProject(strings.NewReader(in), "text/html", page(t))
		require.ErrorIs(t, err, simplepage.ErrInvalid, name)
	}
}

func TestPageTooLarge(t *testing.T) {
	r := io.MultiReader(strings.NewReader("<html>"), io.LimitReader(zeros{}, simplepage.MaxPageSize+10))
	_, err := simplepage.ParseProjectList(r, "text/html")
	require.ErrorIs(t, err, simplepage.ErrTooLarge)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestParseProjectList(t *testing.T) {
	names, err := simplepage.ParseProjectList(strings.NewReader(`<a href="alpha/">Alpha</a><a href="b/"> beta_two </a>`), "text/html; charset=utf-8")
	require.NoError(t, err)
	require.Equal(t, []string{"Alpha", "beta_two"}, names)
	names, err = simplepage.ParseProjectList(strings.NewReader(`{"meta":{"api-version":"1.0"},"projects":[{"name":"x"}]}`), "application/vnd.pypi.simple.v1+json")
	require.NoError(t, err)
	require.Equal(t, []string{"x"}, names)
	_, err = simplepage.ParseProjectList(strings.NewReader(`{`), "application/vnd.pypi.simple.v1+json")
	require.ErrorIs(t, err, simplepage.ErrInvalid)
}

// FuzzParseProject: no input panics, and every file returned is an
// absolute http(s) URL with a safe name.
func FuzzParseProject(f *testing.F) {
	f.Add([]byte(`<a href="a-1.0.tar.gz#sha256=`+sum+`" data-yanked>a-1.0.tar.gz</a>`), false)
	f.Add([]byte(`{"name":"a","files":[{"filename":"a-1.0.tar.gz","url":"a-1.0.tar.gz","hashes":{"sha256":"00"}}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		ct := "text/html"
		if isJSON {
			ct = "application/vnd.pypi.simple.v1+json"
		}
		files, err := simplepage.ParseProject(bytes.NewReader(data), ct, page(t))
		if err != nil {
			return
		}
		for _, fl := range files {
			if fl.URL.Scheme != "http" && fl.URL.Scheme != "https" || fl.URL.Host == "" || fl.URL.Fragment != "" {
				t.Fatalf("bad URL %q", fl.URL)
			}
			if simplepage.CheckFilename(fl.Filename) != nil {
				t.Fatalf("bad name %q", fl.Filename)
			}
		}
		_, _ = simplepage.ParseProjectList(bytes.NewReader(data), ct)
	})
}
