package objects

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Locker is implemented by backends that several processes share: they
// hold the store-wide lock between writers (shared) and the collector's
// mark (exclusive) on the medium, and read the medium's clock. Without it
// the Store locks within its process.
type Locker interface {
	// LockShared takes the lock shared for a short or a long lease (see
	// above), waiting while it is held exclusive or an exclusive holder
	// waits for leases of that kind.
	LockShared(ctx context.Context, long bool) (unlock func(), err error)
	// LockExclusive takes the lock exclusive: it waits for the long
	// leases, then for the short ones.
	LockExclusive(ctx context.Context) (unlock func(), err error)
	// Now returns the modification time the medium gives a write made
	// now.
	Now(ctx context.Context) (time.Time, error)
}

type leaseKey struct{ s *Store }

// Lease lets the caller write and reference objects for a version it
// builds, for a short while (see LongLease), and returns a context
// carrying the lease and its release. The collector's mark does not run
// while a lease is held: it waits, and Lease waits while a mark runs.
// Release the lease once the ref that reaches what was written has moved
// (or the work was given up). A ctx that carries a lease of s already gets
// it back with a no-op release.
func (s *Store) Lease(ctx context.Context) (context.Context, func(), error) {
	return s.lease(ctx, false)
}

// LongLease is Lease for work whose length the network, a client or many
// files decide: a sync, a commit of local files. While the collector
// waits for it, short leases are not held back.
func (s *Store) LongLease(ctx context.Context) (context.Context, func(), error) {
	return s.lease(ctx, true)
}

func (s *Store) lease(ctx context.Context, long bool) (context.Context, func(), error) {
	if ctx.Value(leaseKey{s}) != nil {
		return ctx, func() {}, nil
	}
	var unlock func()
	var err error
	if s.locker != nil {
		unlock, err = s.locker.LockShared(ctx, long)
	} else {
		unlock, err = s.plock.lockShared(ctx, long)
	}
	if err != nil {
		return ctx, func() {}, fmt.Errorf("wait for the garbage collector: %w", err)
	}
	var once sync.Once
	return context.WithValue(ctx, leaseKey{s}, true), func() { once.Do(unlock) }, nil
}

// HasLease reports whether ctx carries a lease of s.
func (s *Store) HasLease(ctx context.Context) bool { return ctx.Value(leaseKey{s}) != nil }

// Collect takes the lock of a collector's mark, exclusive of every Lease,
// and returns the epoch: the sweep that follows may delete only what was
// last modified at or before it (DeleteBlob and DeleteObject with
// ifOlderThan just after it). end releases the lock; before it does, it
// waits until the medium's clock is past the epoch, so that nothing a
// writer writes or freshens afterwards can look as old as the epoch.
func (s *Store) Collect(ctx context.Context) (epoch time.Time, end func(), err error) {
	var unlock func()
	if s.locker != nil {
		unlock, err = s.locker.LockExclusive(ctx)
	} else {
		unlock, err = s.plock.lockExclusive(ctx)
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("wait for writers: %w", err)
	}
	// The earlier of this process's clock and the medium's: Reference
	// freshens with the former, writes are stamped with the latter.
	epoch = time.Now()
	if s.locker != nil {
		m, err := s.locker.Now(ctx)
		if err != nil {
			unlock()
			return time.Time{}, nil, fmt.Errorf("read the store's clock: %w", err)
		}
		epoch = earlier(epoch, m)
	}
	epoch = epoch.Round(0)
	end = func() {
		defer unlock()
		for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
			now := time.Now()
			if s.locker != nil {
				m, err := s.locker.Now(context.WithoutCancel(ctx))
				if err != nil {
					m = now // unreadable: the wait cannot help
				}
				now = earlier(now, m)
			}
			if now.After(epoch) {
				return
			}
			time.Sleep(pause)
		}
	}
	return epoch, end, nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Reference freshens blob id for a version being built, so that a
// concurrent sweep keeps it; it fails with an error wrapping ErrNotFound
// if the blob is gone. Call it with a Lease held (see Lease), before the
// version names the blob.
func (s *Store) Reference(ctx context.Context, id ID) error {
	for _, key := range []string{blobKey(id), blobZstKey(id)} {
		if s.toucher == nil {
			_, err := s.b.Stat(ctx, key)
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("reference blob %s: %w", id, err)
			}
			continue
		}
		ok, err := s.touch(ctx, key)
		if err != nil {
			return fmt.Errorf("reference blob %s: %w", id, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("blob %s: %w", id, ErrNotFound)
}

// ReferenceObject is Reference for small object id.
func (s *Store) ReferenceObject(ctx context.Context, id ID) error {
	if s.toucher == nil {
		ok, err := s.HasObject(ctx, id)
		if err == nil && !ok {
			err = fmt.Errorf("object %s: %w", id, ErrNotFound)
		}
		return err
	}
	ok, err := s.touch(ctx, objectKey(id))
	if err != nil {
		return fmt.Errorf("reference object %s: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("object %s: %w", id, ErrNotFound)
	}
	return nil
}

// procLock is the in-process lock of backends that are not Lockers, with
// Locker's semantics: two shared-exclusive locks, one for long leases and
// one for short ones, each preferring a waiting exclusive holder.
type procLock struct {
	long, short rwLock
}

func (l *procLock) lockShared(ctx context.Context, long bool) (func(), error) {
	if long {
		return l.long.lock(ctx, false)
	}
	return l.short.lock(ctx, false)
}

func (l *procLock) lockExclusive(ctx context.Context) (func(), error) {
	l.long.want(1)
	unlockLong, err := l.long.lock(ctx, true)
	l.long.want(-1)
	if err != nil {
		return nil, err
	}
	l.short.want(1)
	unlockShort, err := l.short.lock(ctx, true)
	l.short.want(-1)
	if err != nil {
		unlockLong()
		return nil, err
	}
	return func() { unlockShort(); unlockLong() }, nil
}

// rwLock is a shared-exclusive lock whose shared holders wait while
// someone wants it exclusive (want), if anyone does.
type rwLock struct {
	mu      sync.Mutex
	shared  int
	excl    bool
	wanted  int
	changed chan struct{} // closed and replaced on every change
}

func (l *rwLock) want(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wanted += n
	l.broadcastLocked()
}

func (l *rwLock) lock(ctx context.Context, excl bool) (func(), error) {
	l.mu.Lock()
	for {
		if excl && !l.excl && l.shared == 0 {
			l.excl = true
			l.mu.Unlock()
			return func() { l.release(true) }, nil
		}
		if !excl && !l.excl && l.wanted == 0 {
			l.shared++
			l.mu.Unlock()
			return func() { l.release(false) }, nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
			l.mu.Lock()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *rwLock) release(excl bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if excl {
		l.excl = false
	} else {
		l.shared--
	}
	l.broadcastLocked()
}

func (l *rwLock) broadcastLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}
