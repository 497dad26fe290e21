package fs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pkgvc/pkgvc/internal/flock"
)

// lockDir holds the files of the store-wide lock (see objects.Locker):
// "gc", locked shared by writers and exclusive by the collector's mark;
// "gc-intent", which a waiting collector holds exclusive so that new
// writers queue behind it instead of starving it; "clock", written to read
// the file system's clock.
const lockDir = "locks"

func (b *Backend) lockFile(name string) (*os.File, error) {
	dir := filepath.Join(b.dir, lockDir)
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o644)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o644)
	}
	return f, err
}

// LockShared takes the store lock shared: after the intent lock, so that
// a collector waiting for the lock goes first.
func (b *Backend) LockShared(ctx context.Context) (func(), error) {
	intent, err := b.lockFile("gc-intent")
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	defer intent.Close() // closing releases the intent lock
	if err := flock.LockShared(ctx, intent); err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	main, err := b.lockFile("gc")
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	if err := flock.LockShared(ctx, main); err != nil {
		main.Close()
		return nil, fmt.Errorf("store lock: %w", err)
	}
	return func() { main.Close() }, nil
}

// LockExclusive takes the store lock exclusive, holding the intent lock
// while it waits and while it holds the lock.
func (b *Backend) LockExclusive(ctx context.Context) (func(), error) {
	intent, err := b.lockFile("gc-intent")
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	if err := flock.Lock(ctx, intent); err != nil {
		intent.Close()
		return nil, fmt.Errorf("store lock: %w", err)
	}
	main, err := b.lockFile("gc")
	if err == nil {
		err = flock.Lock(ctx, main)
		if err != nil {
			main.Close()
		}
	}
	if err != nil {
		intent.Close()
		return nil, fmt.Errorf("store lock: %w", err)
	}
	return func() { main.Close(); intent.Close() }, nil
}

// Now writes a byte to the clock file and returns the modification time
// the file system gave it.
func (b *Backend) Now(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	f, err := b.lockFile("clock")
	if err != nil {
		return time.Time{}, fmt.Errorf("store clock: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0}, 0); err != nil {
		return time.Time{}, fmt.Errorf("store clock: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}, fmt.Errorf("store clock: %w", err)
	}
	return fi.ModTime(), nil
}
