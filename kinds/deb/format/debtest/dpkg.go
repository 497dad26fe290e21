package debtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DpkgDeb builds with dpkg-deb, as a packager would, the .deb at out
// whose DEBIAN/control is control and whose other files are files (path
// under the package root, such as "usr/share/doc/x/README", to content;
// a file under DEBIAN/, a maintainer script, is made executable). args
// go before --build (such as -Zxz).
func DpkgDeb(out, control string, files map[string]string, args ...string) error {
	root, err := os.MkdirTemp("", "debtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	// MkdirTemp's 0700 would be the package's ./ entry.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	all := map[string]string{"DEBIAN/control": control}
	for name, data := range files {
		all[name] = data
	}
	for name, data := range all {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "DEBIAN/") && name != "DEBIAN/control" {
			mode = 0o755
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := append(append([]string{"--root-owner-group"}, args...), "--build", root, out)
	if b, err := exec.Command("dpkg-deb", cmd...).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb: %w: %s", err, b)
	}
	return nil
}
