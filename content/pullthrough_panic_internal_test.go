package content

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/parallel"
)

// A pull that panics runs in a goroutine no request recovers: it fails
// the requests waiting for it with the panic and its stack (which the
// request logs), and the process goes on.
func TestPullPanicFailsTheBatch(t *testing.T) {
	p := newPuller(func(context.Context, string, string, []string) (PullResult, error) {
		var errs []error
		panic(errs[1])
	}, time.Millisecond, time.Minute)
	err := p.get(context.Background(), "up", "r", "proj")
	var pe *parallel.PanicError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Contains(t, pe.Error(), "index out of range")
	require.Contains(t, pe.Stack, "pullthrough_panic_internal_test.go", "the stack is kept for the log")
}
