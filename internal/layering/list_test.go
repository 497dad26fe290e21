package layering

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// listed is what `go list -json` says of a package.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	Export     string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	ImportMap  map[string]string
	Module     *struct{ Path string }
}

// goList lists the module's packages (and, with deps, everything they
// import), each with its non-test files and imports.
func goList(t *testing.T, args ...string) (mod string, mine []*listed, all map[string]*listed) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	cmd := exec.Command("go", append(append([]string{"list", "-e", "-json"}, args...), "./...")...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	all = map[string]*listed{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		all[p.ImportPath] = &p
		if p.Module != nil && p.Dir != "" && strings.HasPrefix(p.Dir, root) {
			mod = p.Module.Path
			mine = append(mine, &p)
		}
	}
	if len(mine) == 0 {
		t.Fatal("go list found none of the module's packages")
	}
	return mod, mine, all
}

// rel is p's path inside module mod ("" for the module's root package).
func rel(mod, p string) string {
	if p == mod {
		return ""
	}
	return strings.TrimPrefix(p, mod+"/")
}

// isInternal reports whether path (inside the module) is or is under an
// internal directory.
func isInternal(path string) bool {
	return path == "internal" || strings.HasPrefix(path, "internal/") ||
		strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal")
}
