package repo

import "context"

type whoKey struct{}

// WithWhoContext returns a context whose changes the store records as made
// by who: in the reflog, and as the author of versions that name none. A
// server sets it per request (the token's name), since one Store serves
// many callers.
func WithWhoContext(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, whoKey{}, who)
}

// WhoFrom returns the identity WithWhoContext put in ctx, or "".
func WhoFrom(ctx context.Context) string {
	who, _ := ctx.Value(whoKey{}).(string)
	return who
}

// whoFor is the identity recorded for a change made with ctx: the
// context's, else the store's.
func (s *Store) whoFor(ctx context.Context) string {
	if who := WhoFrom(ctx); who != "" {
		return who
	}
	return s.who
}
