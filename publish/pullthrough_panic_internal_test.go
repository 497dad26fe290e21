package publish

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A pull that panics runs in a goroutine no request recovers: it fails
// the requests waiting for it, logged with its stack, and the process
// goes on.
func TestPullPanicFailsTheBatch(t *testing.T) {
	p := newPuller(func(context.Context, string, string, []string) (PullResult, error) {
		var errs []error
		panic(errs[1])
	}, time.Millisecond, time.Minute)
	var buf bytes.Buffer
	var mu sync.Mutex
	p.log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	err := p.get(context.Background(), "up", "r", "proj")
	require.ErrorIs(t, err, errPullPanic)
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, buf.String(), "pull-through panic")
	require.Contains(t, buf.String(), "index out of range")
	require.Contains(t, buf.String(), "pullthrough_panic_internal_test.go", "the stack is logged")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
