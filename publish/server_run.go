package publish

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"
)

// ShutdownTimeout bounds how long ListenAndServe waits for requests in
// flight once its context is done.
const ShutdownTimeout = 30 * time.Second

// ListenAndServe serves h on addr until ctx is done, then shuts down
// gracefully: it stops accepting, lets requests in flight finish (up to
// ShutdownTimeout) and returns nil. ready, if set, is called with the
// bound address once the listener is open.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, ready func(net.Addr)) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(l.Addr())
	}
	return Serve(ctx, l, h)
}

// Serve serves h on l until ctx is done, then shuts down as
// ListenAndServe does. It closes l.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnContext:       withConn,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// connKey is the context key under which Serve keeps each connection's
// syscall.RawConn, for the small-file fast path (see corked).
type connKey struct{}

func withConn(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return context.WithValue(ctx, connKey{}, rc)
		}
	}
	return ctx
}

// writeCorked writes a whole small response body and flushes it with the
// connection corked, when Serve runs the connection: net/http writes a
// response of more than 4 KiB with two syscalls, and the cork makes them
// leave as one segment, which halves the work of both ends on small files.
func writeCorked(w http.ResponseWriter, r *http.Request, body []byte) {
	rc, _ := r.Context().Value(connKey{}).(syscall.RawConn)
	f, _ := w.(http.Flusher)
	if rc == nil || f == nil {
		_, _ = w.Write(body) // a client that went away is not an error
		return
	}
	cork(rc, true)
	_, _ = w.Write(body)
	f.Flush()
	cork(rc, false)
}
