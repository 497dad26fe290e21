package repo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParseAdd expands one add argument into files to ingest: FILE adds the file
// at its base name, DIR every file under it at its path relative to DIR, and
// FILE=PATH the file at PATH.
func ParseAdd(spec string) ([]Add, error) {
	src, dst, explicit := spec, "", false
	if i := strings.LastIndex(spec, "="); i >= 0 {
		if _, err := os.Stat(spec); err != nil { // a file name may contain '='
			src, dst, explicit = spec[:i], spec[i+1:], true
		}
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("%w: add %s: %w", ErrInvalid, src, err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: add %s: not a regular file", ErrInvalid, src)
		}
		if !explicit {
			dst = filepath.Base(src)
		}
		return []Add{{Path: dst, File: src, Size: fi.Size()}}, nil
	}
	prefix := ""
	if explicit && dst != "" {
		prefix = strings.TrimSuffix(dst, "/") + "/"
	}
	var out []Add
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(p) // follows symlinks to files
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil // sockets, devices, links to directories
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out = append(out, Add{Path: prefix + filepath.ToSlash(rel), File: p, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: add %s: %w", ErrInvalid, src, err)
	}
	return out, nil
}
