package remote_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/remote"
)

// A remote's JSON has its kind's settings at the top level, beside the
// common fields, as it always had: a document an older pkgvc stored
// loads with them as Options and is written back the same.
func TestRemoteJSONKeepsSettingsFlat(t *testing.T) {
	old := `{"name":"pypi","kind":"python","url":"https://pypi.org/simple/","policy":"on_demand",` +
		`"download_concurrency":4,"retries":3,"projects":["django>=4.2,<5"],"platforms":["manylinux*_x86_64"],` +
		`"latest":2,"prerelease":true,"allow_hosts":["files.pythonhosted.org"],` +
		`"created":"2025-01-02T03:04:05Z","updated":"2025-01-02T03:04:05Z"}`
	var r remote.Remote
	require.NoError(t, json.Unmarshal([]byte(old), &r))
	require.Equal(t, "pypi", r.Name)
	require.Equal(t, remote.OnDemand, r.Policy)
	require.Len(t, r.Options, 5)
	require.JSONEq(t, `["django>=4.2,<5"]`, string(r.Options["projects"]))
	require.JSONEq(t, `true`, string(r.Options["prerelease"]))

	out, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, old, string(out))
	out, err = json.Marshal(&r)
	require.NoError(t, err)
	require.JSONEq(t, old, string(out), "a pointer marshals the same")

	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &fields))
	require.NotContains(t, fields, "options", "no nesting")

	// Zero settings are left out, as the old fields' omitempty did.
	r.Options["latest"] = json.RawMessage(`0`)
	r.Options["prerelease"] = json.RawMessage(`false`)
	r.Options["platforms"] = json.RawMessage(`[]`)
	out, err = json.Marshal(r)
	require.NoError(t, err)
	require.NotContains(t, string(out), "latest")
	require.NotContains(t, string(out), "prerelease")
	require.NotContains(t, string(out), "platforms")
}

// A container remote stored by an older pkgvc loads and shows its
// settings.
func TestStoredKindSettingsLoad(t *testing.T) {
	e := newEnv(t)
	doc := `{"name":"hub","kind":"container","url":"https://h/","policy":"immediate","download_concurrency":4,` +
		`"retries":3,"upstream_name":"library/alpine","include_tags":["3.*"],"created":"2025-01-02T03:04:05Z","updated":"2025-01-02T03:04:05Z"}`
	_, err := meta.PutIf(e.ctx, e.st.Meta(), "remotes/hub", []byte(doc), "")
	require.NoError(t, err)
	got, err := e.m.Show(e.ctx, "hub")
	require.NoError(t, err)
	require.JSONEq(t, `"library/alpine"`, string(got.Options["upstream_name"]))
	out, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, doc, string(out))
}

// Options decode into a kind's struct; a field it lacks is an error.
func TestOptionsDecode(t *testing.T) {
	var o struct {
		Projects []string `json:"projects"`
		Latest   int      `json:"latest"`
	}
	opts, err := remote.EncodeOptions(map[string]any{"projects": []string{"a"}, "latest": 3})
	require.NoError(t, err)
	require.NoError(t, opts.Decode(&o))
	require.Equal(t, []string{"a"}, o.Projects)
	require.Equal(t, 3, o.Latest)
	opts["upstream_name"] = json.RawMessage(`"x"`)
	require.Error(t, opts.Decode(&o))
}

// A key spelled in another case is the common field encoding/json fills
// from it, not a kind's setting.
func TestRemoteJSONCommonFieldAnyCase(t *testing.T) {
	var r remote.Remote
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","kind":"file","URL":"http://up/PULP_MANIFEST"}`), &r))
	require.Equal(t, "http://up/PULP_MANIFEST", r.URL)
	require.Empty(t, r.Options)
}

// Another kind's field that an older pkgvc stored with a remote (a python
// remote given --upstream-name) is dropped on load: it meant nothing
// then, and must not refuse the remote's updates and syncs now.
func TestStoredStraySettingDropped(t *testing.T) {
	e := newEnv(t)
	doc := `{"name":"py","kind":"python","url":"https://pypi.org/simple/","policy":"on_demand","download_concurrency":4,` +
		`"retries":3,"projects":["django"],"upstream_name":"x","created":"2025-01-02T03:04:05Z","updated":"2025-01-02T03:04:05Z"}`
	_, err := meta.PutIf(e.ctx, e.st.Meta(), "remotes/py", []byte(doc), "")
	require.NoError(t, err)
	got, err := e.m.Show(e.ctx, "py")
	require.NoError(t, err)
	require.NotContains(t, got.Options, "upstream_name")
	require.JSONEq(t, `["django"]`, string(got.Options["projects"]))
	up, err := e.m.Update(e.ctx, "py", remote.Patch{"retries": json.RawMessage(`5`)}.Apply)
	require.NoError(t, err, "an update of another field")
	require.Equal(t, 5, up.Retries)
}
