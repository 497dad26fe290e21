// Package flock takes advisory locks on files, the way several pkgvc
// processes sharing one store serialize their writers.
package flock

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Lock takes LOCK_EX on f. Without a cancelable ctx it blocks in the
// kernel; otherwise it polls with LOCK_NB and a growing pause, so that ctx
// can end the wait.
func Lock(ctx context.Context, f *os.File) error { return lock(ctx, f, unix.LOCK_EX) }

// LockShared takes LOCK_SH on f, as Lock does LOCK_EX: any number of
// shared holders exclude an exclusive one. Locks are held per open file,
// so two opens of one file in one process exclude each other too.
func LockShared(ctx context.Context, f *os.File) error { return lock(ctx, f, unix.LOCK_SH) }

func lock(ctx context.Context, f *os.File, how int) error {
	fd := int(f.Fd())
	if ctx.Done() == nil {
		for {
			err := unix.Flock(fd, how)
			if !errors.Is(err, unix.EINTR) {
				return err
			}
		}
	}
	pause := 20 * time.Microsecond
	for {
		err := unix.Flock(fd, how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EWOULDBLOCK), errors.Is(err, unix.EINTR):
		default:
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 5*time.Millisecond)
	}
}

// Unlock releases the lock on f.
func Unlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
