package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/parallel"
)

func TestDoRunsEachIndexWithinTheLimit(t *testing.T) {
	var running, peak atomic.Int32
	seen := make([]atomic.Int32, 100)
	err := parallel.Do(context.Background(), len(seen), 3, func(_ context.Context, i int) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		seen[i].Add(1)
		running.Add(-1)
		return nil
	})
	require.NoError(t, err)
	require.LessOrEqual(t, peak.Load(), int32(3))
	for i := range seen {
		require.Equal(t, int32(1), seen[i].Load(), "index %d", i)
	}
}

func TestDoStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := parallel.Do(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 5 {
			return boom
		}
		return nil
	})
	require.ErrorIs(t, err, boom)
	require.Less(t, calls.Load(), int32(1000), "no new calls start after the failure")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, parallel.Do(ctx, 10, 2, func(context.Context, int) error { return nil }), context.Canceled)
}

func TestDoTurnsAPanicIntoAnError(t *testing.T) {
	err := parallel.Do(context.Background(), 10, 3, func(_ context.Context, i int) error {
		if i == 4 {
			var m map[string]int
			m["x"]++ // a nil map write: a bug, not an error
		}
		return nil
	})
	var pe *parallel.PanicError
	require.ErrorAs(t, err, &pe)
	require.Contains(t, err.Error(), "assignment to entry in nil map")
	require.NotContains(t, err.Error(), "parallel_test.go", "the message is short; the stack is apart")
	require.Contains(t, pe.Stack, "parallel_test.go", "the stack shows where it panicked")
	require.Equal(t, "stack", parallel.LogStack(fmt.Errorf("sync: %w", err)).Key)
	require.True(t, parallel.LogStack(errors.New("plain")).Equal(slog.Attr{}))
}
