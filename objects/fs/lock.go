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
// "gc-long" and "gc", locked shared by long and short leases; their intent
// files, which a collector holds while it waits for the leases of that
// kind, so that new ones queue behind it; all four exclusive by the
// collector's mark; and "clock", written to read the file system's clock.
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

// LockShared takes the store lock shared: "gc-long" for a long lease,
// "gc" for a short one, each after its intent file ("gc-long-intent",
// "gc-intent"), so that a collector waiting for leases of that kind goes
// first.
func (b *Backend) LockShared(ctx context.Context, long bool) (func(), error) {
	name := "gc"
	if long {
		name = "gc-long"
	}
	intent, err := b.lock(ctx, name+"-intent", flock.LockShared)
	if err != nil {
		return nil, err
	}
	defer intent()
	return b.lock(ctx, name, flock.LockShared)
}

// LockExclusive takes the store lock exclusive: the long leases' files,
// then the short ones'.
func (b *Backend) LockExclusive(ctx context.Context) (func(), error) {
	var unlocks []func()
	undo := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, name := range []string{"gc-long-intent", "gc-long", "gc-intent", "gc"} {
		unlock, err := b.lock(ctx, name, flock.Lock)
		if err != nil {
			undo()
			return nil, err
		}
		unlocks = append(unlocks, unlock)
	}
	return undo, nil
}

func (b *Backend) lock(ctx context.Context, name string, take func(context.Context, *os.File) error) (func(), error) {
	f, err := b.lockFile(name)
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	if err := take(ctx, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("store lock: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
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
