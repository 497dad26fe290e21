package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

// TestDiffPackagesThroughServer: GET /diff/packages answers the package
// entries the local service computes, in the OpenAPI document's shape.
func TestDiffPackagesThroughServer(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	_, err := e.svc.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	wheel := func(version string) map[string][]byte {
		fn, data := pythontest.Spec{Name: "p1", Version: version}.Wheel()
		return map[string][]byte{fn: data}
	}
	commitFiles(t, e.svc, "py", wheel("1.9"))
	_, err = e.svc.Commit(ctx, "py", repo.CommitRequest{Removes: []string{"p1-1.9-py3-none-any.whl"}, AllowEmpty: true})
	require.NoError(t, err)
	commitFiles(t, e.svc, "py", wheel("1.10"))

	c := e.client(e.token("reader", "repo:py:read"))
	d, err := c.DiffPackages(ctx, "py@1", "py")
	require.NoError(t, err)
	want := []repo.PackageEntry{{Name: "p1", Old: "1.9", New: "1.10", Change: repo.ChangeUpgraded}}
	require.Equal(t, want, d.Packages)
	local, err := e.svc.DiffPackages(ctx, "py@1", "py")
	require.NoError(t, err)
	require.Equal(t, local, d)
	d, err = c.DiffPackages(ctx, "py", "py@1")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{{Name: "p1", Old: "1.10", New: "1.9", Change: repo.ChangeDowngraded}}, d.Packages)

	// The raw answer carries old and new even when empty.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/api/v1/diff/packages?from=py@2&to=py", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var raw struct {
		Packages []map[string]string `json:"packages"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))
	require.Equal(t, []map[string]string{{"name": "p1", "old": "", "new": "1.10", "change": "added"}}, raw.Packages)
}
