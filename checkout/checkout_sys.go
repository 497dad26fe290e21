package checkout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	filelock "github.com/pkgvc/pkgvc/internal/flock"

	"golang.org/x/sys/unix"
)

// flock takes LOCK_EX on f; ctx can end the wait.
func flock(ctx context.Context, f *os.File) error { return filelock.Lock(ctx, f) }

// syncFS makes everything written to the file system holding dir durable
// (syncfs(2)): one call instead of an fsync per file.
func syncFS(dir string) error {
	return withFd(dir, unix.Syncfs)
}

// syncDir makes a directory's entries (renames, links) durable.
func syncDir(dir string) error {
	return withFd(dir, unix.Fsync)
}

func withFd(dir string, fn func(fd int) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	raw, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "sync", Path: dir, Err: ferr}
	}
	return nil
}

// umaskHidesRead reports whether the process umask clears read or search
// bits of the modes checkout makes (0444 files, 0755 directories), so they
// need an explicit chmod; true when it can't tell.
func umaskHidesRead() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return err != nil || m&0o555 != 0
		}
	}
	return true
}

// errNoClone reports a file system that cannot clone files.
var errNoClone = errors.New("the file system cannot clone files")

// cloneFile makes out a copy-on-write clone of in (FICLONE: btrfs, XFS,
// bcachefs, ZFS 2.2...), sharing its blocks until either is written.
func cloneFile(out, in *os.File) error {
	err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd()))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTTY), errors.Is(err, unix.EXDEV),
		errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: %w", errNoClone, err)
	}
	return &os.PathError{Op: "clone", Path: out.Name(), Err: err}
}
