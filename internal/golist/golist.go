// Package golist lists the packages of the module in the working
// directory with `go list -json`, for the tests that check the module's
// own code (error comparisons, layering, the public surface).
package golist

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Package is what `go list -json` says of a package.
type Package struct {
	ImportPath string
	Name       string
	Dir        string
	Export     string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	ImportMap  map[string]string
	Standard   bool
	Module     *struct{ Path string }
}

// Module lists ./... of the module holding the working directory, with
// the extra go list flags args (e.g. -deps, -export): mod is the module's
// path, mine its own packages, all every package listed by import path.
func Module(args ...string) (mod string, mine []*Package, all map[string]*Package, err error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", nil, nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	cmd := exec.Command("go", append(append([]string{"list", "-e", "-json"}, args...), "./...")...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if out, err = cmd.Output(); err != nil {
		return "", nil, nil, fmt.Errorf("go list: %w", err)
	}
	all = map[string]*Package{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", nil, nil, fmt.Errorf("go list output: %w", err)
		}
		all[p.ImportPath] = &p
		if p.Module != nil && p.Dir != "" && strings.HasPrefix(p.Dir, root) {
			mod = p.Module.Path
			mine = append(mine, &p)
		}
	}
	if len(mine) == 0 {
		return "", nil, nil, errors.New("go list found none of the module's packages")
	}
	return mod, mine, all, nil
}
