package content

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds how long ListenAndServe waits for requests in
// flight once its context is done (see WithShutdownTimeout).
const ShutdownTimeout = 30 * time.Second

// Connection limits of Serve, each changed by a ServeOption.
const (
	// DefaultReadHeaderTimeout bounds the sending of a request header.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout bounds the wait for the next request on a
	// keep-alive connection, and each wait for request body bytes.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultWriteTimeout bounds a response write that makes no progress.
	DefaultWriteTimeout = time.Minute
	// DefaultMaxHeaderBytes bounds a request header.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxConns bounds the open connections: each may hold
	// buffers of some 100 KiB while its client is slow to read.
	DefaultMaxConns = 4096
	// DefaultMaxConnsPerAddr bounds the open connections of one client
	// address: pip, apt and docker open a few each.
	DefaultMaxConnsPerAddr = 256
)

// ServeOption configures the connection handling of Serve,
// ListenAndServe and ListenAndServeTLS.
type ServeOption func(*serveConfig)

// WithReadHeaderTimeout sets how long a client has to send a request
// header, counted from the header's first byte, or on a new connection
// from its accept (a TLS handshake included): a slower client is
// disconnected. Zero or less keeps DefaultReadHeaderTimeout.
func WithReadHeaderTimeout(d time.Duration) ServeOption {
	return func(cs *serveConfig) {
		if d > 0 {
			cs.headerTimeout = d
		}
	}
}

// WithIdleTimeout sets how long a keep-alive connection may wait for its
// next request, and a request body for its next bytes, before the
// connection is closed. Zero or less keeps DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) ServeOption {
	return func(cs *serveConfig) {
		if d > 0 {
			cs.idleTimeout = d
		}
	}
}

// WithWriteTimeout sets how long a response write may go on without the
// client taking any of it: the deadline moves on while bytes flow, so a
// slow but steady download completes, and a client that stops reading is
// disconnected after about d (at most 2d). Zero or less keeps
// DefaultWriteTimeout.
func WithWriteTimeout(d time.Duration) ServeOption {
	return func(cs *serveConfig) {
		if d > 0 {
			cs.writeTimeout = d
		}
	}
}

// WithMaxHeaderBytes sets the largest request header (request line
// included) read; a larger one is answered 431 Request Header Fields Too
// Large. Zero or less keeps DefaultMaxHeaderBytes.
func WithMaxHeaderBytes(n int) ServeOption {
	return func(cs *serveConfig) {
		if n > 0 {
			cs.maxHeader = n
		}
	}
}

// WithMaxConns sets how many connections are open at once, in all and
// from one client address (an IPv4 address, or an IPv6 /64); a connection past
// either is answered 503 and closed at once (a TLS one only closed).
// Behind a reverse proxy every client has the proxy's address: give
// perAddr as much as total. Zero or less keeps DefaultMaxConns and
// DefaultMaxConnsPerAddr.
func WithMaxConns(total, perAddr int) ServeOption {
	return func(cs *serveConfig) {
		if total > 0 {
			cs.maxConns = total
		}
		if perAddr > 0 {
			cs.maxPerAddr = perAddr
		}
	}
}

// WithShutdownTimeout sets how long a shutdown lets requests in flight
// finish before their contexts are cancelled and their connections
// closed. Zero or less keeps ShutdownTimeout.
func WithShutdownTimeout(d time.Duration) ServeOption {
	return func(cs *serveConfig) {
		if d > 0 {
			cs.grace = d
		}
	}
}

// WithH2C lets clients speak HTTP/2 without TLS ("h2c", prior knowledge
// only: an HTTP/1.1 Upgrade is not taken), beside HTTP/1.1; for a server
// behind a proxy that speaks HTTP/2 to it.
func WithH2C() ServeOption {
	return func(cs *serveConfig) { cs.h2c = true }
}

// ListenAndServe serves h on addr until ctx is done, then shuts down
// gracefully: it stops accepting, lets requests in flight finish (up to
// ShutdownTimeout), cancels the contexts of those still running and
// closes their connections, and returns nil. ready, if set, is called
// with the bound address once the listener is open. log receives
// connection-level problems (handler panics); nil discards them.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr), opts ...ServeOption) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(l.Addr())
	}
	return Serve(ctx, l, h, log, opts...)
}

// Serve serves h on the plain (not TLS: see ListenAndServeTLS) listener l
// with net/http's server, over HTTP/1.x (and h2c with WithH2C), until ctx
// is done, then shuts down as ListenAndServe does; it closes l. Slow and
// oversized clients are bounded by the limits of opts (see ServeOption);
// a handler panic is logged and answered 500. Handlers see net/http's
// ResponseWriter, wrapped: io.Copy to it goes in 64 KiB writes.
func Serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger, opts ...ServeOption) error {
	return serve(ctx, l, nil, h, log, opts...)
}

// serve is Serve, over TLS with cfg when it is not nil.
func serve(ctx context.Context, l net.Listener, cfg *tls.Config, h http.Handler, log *slog.Logger, opts ...ServeOption) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cs := &serveConfig{
		log:           log,
		headerTimeout: DefaultReadHeaderTimeout,
		idleTimeout:   DefaultIdleTimeout,
		writeTimeout:  DefaultWriteTimeout,
		maxHeader:     DefaultMaxHeaderBytes,
		maxConns:      DefaultMaxConns,
		maxPerAddr:    DefaultMaxConnsPerAddr,
		tls:           cfg,
		grace:         ShutdownTimeout,
	}
	for _, o := range opts {
		o(cs)
	}
	return cs.serve(ctx, l, h)
}
