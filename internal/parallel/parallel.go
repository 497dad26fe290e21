// Package parallel runs a function over the indexes of a slice with a
// bounded number of goroutines.
package parallel

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Do calls fn(ctx, i) for i in [0, n) on up to workers goroutines (at
// least one). The first error cancels the context given to the calls
// still running, stops starting new ones and is returned; a canceled ctx
// stops Do likewise. A panic in fn is returned as a *PanicError.
func Do(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, min(workers, n)))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return Safe(func() error { return fn(gctx, i) }) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
