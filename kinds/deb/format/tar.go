package format

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// ErrTar reports a tar member of a .deb that is malformed, unsafe or
// over a limit.
var ErrTar = errors.New("invalid tar member")

// walkTar reads every entry of tar stream r, calling fn for each with a
// name checked to stay inside the archive (no absolute path, no ".."),
// then reads r to its end, so that a compressed stream's checksum is
// verified. Entries whose header says more than maxEntry bytes are
// refused before they are read.
func walkTar(ctx context.Context, r io.Reader, maxEntry int64, fn func(h *tar.Header, tr *tar.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrTar, err)
		}
		if err := checkTarName(h.Name); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeLink {
			if err := checkTarName(h.Linkname); err != nil {
				return fmt.Errorf("hard link %s: %w", h.Name, err)
			}
		}
		if h.Size < 0 || h.Size > maxEntry {
			return fmt.Errorf("%w: %s: %d bytes, over the limit of %d", ErrTar, h.Name, h.Size, maxEntry)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("%w: after the archive's end: %w", ErrTar, err)
	}
	return nil
}

// checkTarName refuses a name that is absolute or climbs out of the
// archive's root.
func checkTarName(n string) error {
	if n == "" {
		return fmt.Errorf("%w: empty entry name", ErrTar)
	}
	if strings.HasPrefix(n, "/") {
		return fmt.Errorf("%w: absolute entry name %q", ErrTar, n)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return fmt.Errorf("%w: entry name %q climbs out of the archive (..)", ErrTar, n)
		}
	}
	if strings.ContainsRune(n, 0) {
		return fmt.Errorf("%w: entry name %q holds a NUL", ErrTar, n)
	}
	return nil
}

// cleanTarName is an entry's name without its "./" prefix or trailing
// slash: "./control" is "control".
func cleanTarName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}
