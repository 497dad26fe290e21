package publish

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds how long ListenAndServe waits for requests in
// flight once its context is done.
const ShutdownTimeout = 30 * time.Second

// ListenAndServe serves h on addr until ctx is done, then shuts down
// gracefully: it stops accepting, lets requests in flight finish (up to
// ShutdownTimeout) and returns nil. ready, if set, is called with the
// bound address once the listener is open. log receives connection-level
// problems (handler panics); nil discards them.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(l.Addr())
	}
	return Serve(ctx, l, h, log)
}

// Serve serves h over HTTP/1.x on l until ctx is done, then shuts down as
// ListenAndServe does; it closes l. Its connection handling is tuned for
// a content server (see server_http.go): handlers see an ordinary
// http.ResponseWriter that also implements io.ReaderFrom (sendfile) and
// http.Flusher.
func Serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cs := &connServer{h: h, log: log}
	return cs.serve(ctx, l, ShutdownTimeout)
}
