package fs

import (
	"context"
	"fmt"
	filelock "github.com/pkgvc/pkgvc/internal/flock"
	"os"

	"golang.org/x/sys/unix"
)

// lock takes the write lock: first the in-process semaphore, then
// flock(LOCK_EX) on dir/lock through a fresh open file description, so it
// excludes other Backends in this process as well as other processes.
// The returned func releases both.
func (b *Backend) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() {
		if err != nil {
			<-b.sem
		}
	}()
	f, err := os.Open(b.path(lockFile))
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := flock(ctx, f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() {
		// Unlock explicitly: closing alone would not release the flock
		// while a child forked meanwhile (before its exec closes the
		// descriptor) shares the open file description.
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		_ = f.Close()
		<-b.sem
	}, nil
}

// flock takes LOCK_EX on f; ctx can end the wait.
func flock(ctx context.Context, f *os.File) error { return filelock.Lock(ctx, f) }
