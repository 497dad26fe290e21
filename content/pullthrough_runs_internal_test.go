package content

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A namespace cache pulls into a repository per name a client asks for,
// any name: the puller keeps nothing per repository once its pulls are
// over, or a client asking for ever new names grows the server without
// bound.
func TestPullerForgetsFinishedRepos(t *testing.T) {
	p := newPuller(func(_ context.Context, _, _ string, projects []string) (PullResult, error) {
		return PullResult{NotFound: projects}, nil
	}, 0, time.Minute)
	for i := range 2000 {
		err := p.get(context.Background(), "up", "ns.name"+strconv.Itoa(i), "1")
		require.True(t, errors.Is(err, errNoProject), "%v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Zero(t, len(p.runs), "no lock kept for repositories no pull runs into")
	require.Zero(t, len(p.open))
	require.Zero(t, len(p.inflight))
}
