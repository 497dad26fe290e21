package format_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format"
)

func samplePage() *format.ProjectPage {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	return &format.ProjectPage{
		Meta: format.Meta{APIVersion: format.APIVersion}, Name: "beta", Versions: []string{"1.0", "2.0"},
		Files: []format.File{
			{Filename: "beta-1.0.tar.gz", URL: "../../beta-1.0.tar.gz", Hashes: map[string]string{"sha256": "aa"},
				Size: 10, Yanked: format.Yanked{Yanked: true}, UploadTime: format.UploadTime{Time: at}},
			{Filename: "beta-2.0-py3-none-any.whl", URL: "../../a&b/beta-2.0-py3-none-any.whl", Hashes: map[string]string{"sha256": "bb"},
				RequiresPython: `>=3.7,<4 "x"`, Size: 20, Yanked: format.Yanked{Yanked: true, Reason: "broken <b>"},
				CoreMetadata: format.CoreMetadata{Available: true, Hashes: map[string]string{"sha256": "cc"}}},
		},
	}
}

func TestProjectPageJSON(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, samplePage().WriteJSON(&buf))
	require.JSONEq(t, `{
		"meta": {"api-version": "1.1"}, "name": "beta", "versions": ["1.0", "2.0"],
		"files": [
			{"filename": "beta-1.0.tar.gz", "url": "../../beta-1.0.tar.gz", "hashes": {"sha256": "aa"},
			 "yanked": true, "size": 10, "upload-time": "2024-05-06T06:08:09.123456Z"},
			{"filename": "beta-2.0-py3-none-any.whl", "url": "../../a&b/beta-2.0-py3-none-any.whl", "hashes": {"sha256": "bb"},
			 "requires-python": ">=3.7,<4 \"x\"", "core-metadata": {"sha256": "cc"},
			 "yanked": "broken <b>", "size": 20}
		]}`, buf.String())

	// It reads back, whatever form yanked and core-metadata take.
	var back format.ProjectPage
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	require.Equal(t, format.Yanked{Yanked: true}, back.Files[0].Yanked)
	require.Equal(t, format.Yanked{Yanked: true, Reason: "broken <b>"}, back.Files[1].Yanked)
	require.Equal(t, "cc", back.Files[1].CoreMetadata.Hashes["sha256"])
	require.False(t, back.Files[0].CoreMetadata.Available)
	require.Equal(t, 2024, back.Files[0].UploadTime.Year())
	var f format.File
	require.NoError(t, json.Unmarshal([]byte(`{"core-metadata": true, "yanked": false}`), &f))
	require.Equal(t, format.CoreMetadata{Available: true}, f.CoreMetadata)
	require.False(t, f.Yanked.Yanked)
	// PEP 714: only core-metadata is written (pip 22.3 to 23.1 crash on a
	// dist-info-metadata object); the older key is still read.
	require.NotContains(t, buf.String(), "dist-info-metadata")
	f = format.File{}
	require.NoError(t, json.Unmarshal([]byte(`{"dist-info-metadata": {"sha256": "dd"}}`), &f))
	require.Equal(t, format.CoreMetadata{Available: true, Hashes: map[string]string{"sha256": "dd"}}, f.CoreMetadata)
	f = format.File{}
	require.NoError(t, json.Unmarshal([]byte(`{"core-metadata": {"sha256": "ee"}, "dist-info-metadata": {"sha256": "dd"}}`), &f))
	require.Equal(t, "ee", f.CoreMetadata.Hashes["sha256"], "core-metadata wins")
	require.Error(t, json.Unmarshal([]byte(`{"core-metadata": 3}`), &f))
	require.Error(t, json.Unmarshal([]byte(`{"yanked": 3}`), &f))
	require.Error(t, json.Unmarshal([]byte(`{"upload-time": "yesterday"}`), &f))
}

func TestProjectPageHTML(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, samplePage().WriteHTML(&buf))
	want := `<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for beta</title>
  </head>
  <body>
    <h1>Links for beta</h1>
    <a href="../../beta-1.0.tar.gz#sha256=aa" data-yanked="">beta-1.0.tar.gz</a><br>
    <a href="../../a&amp;b/beta-2.0-py3-none-any.whl#sha256=bb" data-requires-python="&gt;=3.7,&lt;4 &#34;x&#34;" data-yanked="broken &lt;b&gt;" data-dist-info-metadata="sha256=cc" data-core-metadata="sha256=cc">beta-2.0-py3-none-any.whl</a><br>
  </body>
</html>
`
	require.Equal(t, want, buf.String())
}

func TestProjectListPages(t *testing.T) {
	l := &format.ProjectList{Meta: format.Meta{APIVersion: format.APIVersion}, Projects: []format.ProjectRef{{Name: "alpha"}, {Name: "beta"}}}
	var h, j bytes.Buffer
	require.NoError(t, l.WriteHTML(&h))
	require.NoError(t, l.WriteJSON(&j))
	require.Contains(t, h.String(), `<meta name="pypi:repository-version" content="1.1">`)
	require.Contains(t, h.String(), "<a href=\"alpha/\">alpha</a><br>\n    <a href=\"beta/\">beta</a><br>\n")
	require.JSONEq(t, `{"meta": {"api-version": "1.1"}, "projects": [{"name": "alpha"}, {"name": "beta"}]}`, j.String())
}
