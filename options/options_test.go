package options_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/options"
)

func TestCollectMergesKinds(t *testing.T) {
	decl := map[string][]options.Spec{
		"a": {{Field: "platforms", Flag: "platform", Type: options.List, Usage: "wheel tags"}, {Field: "latest", Flag: "latest", Type: options.Int}},
		"b": {{Field: "platforms", Flag: "platform", Type: options.List, Usage: "os/arch"}},
	}
	got := options.Collect([]string{"a", "b", "c"}, func(k string) []options.Spec { return decl[k] })
	require.Len(t, got, 2)
	require.Equal(t, "platforms", got[0].Field)
	require.Equal(t, []string{"a", "b"}, got[0].Kinds)
	require.Equal(t, []string{"a: wheel tags", "b: os/arch"}, got[0].Usages)
	require.Equal(t, []string{"a"}, got[1].Kinds)

	decl["c"] = []options.Spec{{Field: "latest", Flag: "latest", Type: options.String}}
	require.Panics(t, func() { options.Collect([]string{"a", "c"}, func(k string) []options.Spec { return decl[k] }) },
		"one field, two types")
}

func TestValuesCheckMergeCompact(t *testing.T) {
	specs := []options.Spec{{Field: "suite", Type: options.String}, {Field: "components", Type: options.List}}
	o := options.Values{"suite": json.RawMessage(`"stable"`), "components": json.RawMessage(`["main"]`)}
	require.NoError(t, options.Check(o, specs, "x distributions"))
	require.ErrorContains(t, options.Check(options.Values{"codename": json.RawMessage(`"a"`)}, specs, "x distributions"), `"codename" is not a setting of x distributions`)
	require.Error(t, options.Check(options.Values{"suite": json.RawMessage(`1`)}, specs, "x"))

	m := o.Merge(options.Values{"components": json.RawMessage(`[]`), "suite": json.RawMessage(`"testing"`)})
	require.Equal(t, options.Values{"suite": json.RawMessage(`"testing"`)}, m, "a zero value clears its option")
	require.Len(t, o, 2, "Merge copies")
	require.Nil(t, options.Values{"x": json.RawMessage(`false`)}.Compact())
}
