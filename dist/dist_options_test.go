package dist_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/file"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/options"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// suiteKind's distributions have an apt-like suite and components.
type suiteKind struct{}

func (suiteKind) Name() string { return "suites" }
func (suiteKind) Inspect(context.Context, string, io.ReaderAt, int64) (map[string]string, error) {
	return map[string]string{}, nil
}
func (suiteKind) DistOptions() []options.Spec {
	return []options.Spec{
		{Field: "suite", Flag: "suite", Type: options.String, Usage: "the suite published"},
		{Field: "components", Flag: "component", Type: options.List, Usage: "the components published"},
	}
}
func (suiteKind) CheckDistOptions(o options.Values) error {
	var v struct {
		Suite      string   `json:"suite"`
		Components []string `json:"components"`
	}
	if err := o.Decode(&v); err != nil {
		return err
	}
	if v.Suite == "bad" {
		return errors.New("suite bad: want a word")
	}
	return nil
}

func TestDistOptionsOfTheKind(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(file.Kind{}, suiteKind{}), repo.WithMeta(metamem.New()))
	ds := dist.NewDists(st)
	for _, r := range []struct{ name, kind string }{{"s", "suites"}, {"f", ""}} {
		_, err := st.CreateRepo(ctx, r.name, repo.CreateOptions{Kind: r.kind})
		require.NoError(t, err)
	}
	opts := func(kv ...any) options.Values {
		o := options.Values{}
		for i := 0; i < len(kv); i += 2 {
			raw, err := json.Marshal(kv[i+1])
			require.NoError(t, err)
			o[kv[i].(string)] = raw
		}
		return o
	}

	d, err := ds.Create(ctx, "stable", dist.DistSpec{BasePath: "stable", Repo: "s", Options: opts("suite", "stable", "components", []string{"main", "contrib"})})
	require.NoError(t, err)
	require.JSONEq(t, `{"suite":"stable","components":["main","contrib"]}`, mustJSON(t, d.Options))

	_, err = ds.Create(ctx, "x", dist.DistSpec{BasePath: "x", Repo: "s", Options: opts("codename", "trixie")})
	require.ErrorIs(t, err, repo.ErrInvalid, "an option the kind does not declare")
	require.Contains(t, err.Error(), `"codename" is not a setting of suites distributions`)
	_, err = ds.Create(ctx, "x", dist.DistSpec{BasePath: "x", Repo: "s", Options: opts("suite", []string{"a"})})
	require.ErrorIs(t, err, repo.ErrInvalid, "a value of the wrong type")
	_, err = ds.Create(ctx, "x", dist.DistSpec{BasePath: "x", Repo: "s", Options: opts("suite", "bad")})
	require.ErrorIs(t, err, repo.ErrInvalid, "the kind's own check")
	require.Contains(t, err.Error(), "want a word")
	_, err = ds.Create(ctx, "x", dist.DistSpec{BasePath: "x", Repo: "f", Options: opts("suite", "stable")})
	require.ErrorIs(t, err, repo.ErrInvalid, "a kind without distribution options takes none")

	// An update sets what it names, clears what it gives empty, keeps the rest.
	d, err = ds.Update(ctx, "stable", dist.DistSpec{Options: opts("components", []string{})})
	require.NoError(t, err)
	require.JSONEq(t, `{"suite":"stable"}`, mustJSON(t, d.Options))
	_, err = ds.Update(ctx, "stable", dist.DistSpec{Options: opts("suite", "testing")})
	require.NoError(t, err)
	got, err := ds.Get(ctx, "stable")
	require.NoError(t, err)
	require.JSONEq(t, `{"suite":"testing"}`, mustJSON(t, got.Options), "stored")
	require.Contains(t, mustJSON(t, got), `"options":{"suite":"testing"}`)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
