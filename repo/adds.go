package repo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// AddOption changes how ParseAdd reads a directory.
type AddOption func(*addOptions)

type addOptions struct{ followSymlinks bool }

// FollowSymlinks lets ParseAdd add, under a directory, files that symbolic
// links in it name outside it. Without it such a link is refused, so that a
// build tree cannot publish a secret it merely points at.
func FollowSymlinks() AddOption { return func(o *addOptions) { o.followSymlinks = true } }

// ParseAdd expands one add argument into files to ingest: FILE adds the file
// at its base name, DIR every file under it at its path relative to DIR, and
// FILE=PATH the file at PATH. A symbolic link under DIR to a file outside
// DIR is refused (ErrInvalid) unless FollowSymlinks is given; links
// staying inside DIR add the file they name.
func ParseAdd(spec string, opts ...AddOption) ([]Add, error) {
	var o addOptions
	for _, f := range opts {
		f(&o)
	}
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
	root, err := filepath.EvalSymlinks(src)
	if err != nil {
		return nil, fmt.Errorf("%w: add %s: %w", ErrInvalid, src, err)
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, fmt.Errorf("%w: add %s: %w", ErrInvalid, src, err)
	}
	var out []Add
	// Walk the resolved directory: WalkDir does not enter a root that is
	// a symbolic link.
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
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
		if d.Type()&fs.ModeSymlink != 0 && !o.followSymlinks {
			if err := inside(root, p); err != nil {
				return err
			}
		}
		rel, err := filepath.Rel(root, p)
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

// inside checks that link p, under directory root (with its own links
// resolved), names a file under root.
func inside(root, p string) error {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if target, err = filepath.Abs(target); err != nil {
		return err
	}
	if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("symbolic link %s points outside the directory, to %s (add it by name, or use --follow-symlinks)", p, target)
	}
	return nil
}
