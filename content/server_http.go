package content

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/internal/clientaddr"
)

// Serve runs on net/http's http.Server (HTTP/1.1, HTTP/2 over TLS, and
// h2c when asked). What it adds:
//
//   - connection caps, in all and per client address, enforced by a
//     listener (capListener) that answers a connection past them 503;
//   - write deadlines that move on while bytes flow, so a slow but steady
//     download completes and a client that stops reading is dropped: the
//     handler wrapper (limitWriter) moves them through
//     http.ResponseController at each write, the connection (progressConn)
//     within a long write;
//   - body read deadlines that move on while bytes arrive;
//   - a handler panic answered 500 (when no header is out yet) and logged;
//   - request contexts derived from one the server cancels when the
//     shutdown grace period is over.

// serveConfig is what the ServeOptions set.
type serveConfig struct {
	log *slog.Logger

	headerTimeout, idleTimeout, writeTimeout time.Duration
	maxHeader                                int
	maxConns, maxPerAddr                     int
	h2c                                      bool
	tls                                      *tls.Config
	grace                                    time.Duration
}

// serve serves h on l until ctx is done, then shuts down: it stops
// accepting, lets requests in flight finish for up to sc.grace, then cancels
// the contexts of those still running and closes their connections.
func (sc *serveConfig) serve(ctx context.Context, l net.Listener, h http.Handler) error {
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	cl := &capListener{Listener: l, total: sc.maxConns, perAddr: sc.maxPerAddr, tls: sc.tls != nil, span: sc.writeTimeout, byAddr: map[string]int{}}
	var ln net.Listener = cl
	if sc.tls != nil {
		ln = tls.NewListener(cl, sc.tls)
	}
	lh := &limitHandler{h: h, log: sc.log, write: sc.writeTimeout, read: sc.idleTimeout}
	srv := &http.Server{
		Handler:           lh,
		ReadHeaderTimeout: sc.headerTimeout,
		IdleTimeout:       sc.idleTimeout,
		// No WriteTimeout: the handler wrapper sets the write deadline of
		// each response and moves it on as bytes flow (net/http's would
		// cost a clock read and a timer per request, and per HTTP/2
		// stream); an HTTP/2 connection's own writes must make progress
		// within the write timeout.
		HTTP2:          &http.HTTP2Config{WriteByteTimeout: sc.writeTimeout},
		MaxHeaderBytes: sc.maxHeader,
		BaseContext:    func(net.Listener) context.Context { return base },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(*progressConn); ok { // plain TCP (not TLS)
				return context.WithValue(ctx, connKey{}, pc)
			}
			return ctx
		},
		ErrorLog: slog.NewLogLogger(sc.log.Handler(), slog.LevelDebug),
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	if sc.tls != nil {
		protos.SetHTTP2(true)
	}
	if sc.h2c {
		protos.SetUnencryptedHTTP2(true)
	}
	srv.Protocols = &protos
	if sc.tls != nil {
		// http.Server.Serve speaks HTTP/2 on a TLS connection whose
		// client chose "h2", which it must be offered.
		srv.TLSConfig = sc.tls
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// The listener failed (not a shutdown): stop what runs.
		cancelBase()
		_ = srv.Close()
		lh.wait()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), sc.grace)
	err := srv.Shutdown(sctx)
	cancel()
	if err != nil { // grace is over: cancel what still runs
		cancelBase()
		_ = srv.Close()
	}
	lh.wait()
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// limitHandler wraps the handler of Serve: per-request deadlines, panics.
type limitHandler struct {
	h           http.Handler
	log         *slog.Logger
	write, read time.Duration
	running     sync.WaitGroup
}

// wait waits for the handlers still running (after a shutdown).
func (lh *limitHandler) wait() { lh.running.Wait() }

var writers = sync.Pool{New: func() any { return new(limitWriter) }}

// connKey is the context key of a request's *progressConn.
type connKey struct{}

func (lh *limitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lh.running.Add(1)
	defer lh.running.Done()
	lw := writers.Get().(*limitWriter)
	*lw = limitWriter{ResponseWriter: w, req: r, rc: http.NewResponseController(w), timeout: lh.write, h2: r.ProtoMajor == 2}
	var body *limitBody
	if r.Body != nil && r.Body != http.NoBody {
		// The handler gets a copy of the request with the wrapped body:
		// net/http's own keeps the body net/http made, whose type tells it
		// whether to keep the connection after the reply (a body closed on
		// a malformed chunk, a 100-continue never asked for). The deadline
		// is armed at the first read: a handler may wait before reading.
		body = &limitBody{ReadCloser: r.Body, rc: lw.rc, timeout: lh.read, w: lw}
		r2 := new(http.Request)
		*r2 = *r
		r2.Body = body
		r = r2
	}
	defer func() {
		if p := recover(); p != nil {
			lh.recovered(lw, r, p)
		}
		if body != nil {
			body.w = nil // lw is reused
		}
		*lw = limitWriter{}
		writers.Put(lw)
	}()
	if pc, ok := r.Context().Value(connKey{}).(*progressConn); ok && r.ProtoMajor == 1 {
		// Writes are held from the final header on (WriteHeader), not
		// before: an interim response (100 Continue) goes out at once.
		lw.pc, lw.conn = pc, pc
	}
	lh.h.ServeHTTP(lw, r)
	if body != nil && !body.done && lw.reason == "" {
		lw.release(false)
		body.drain(lw, r)
	}
	if lw.reason != "" {
		lw.sendReason()
	}
	if lw.dl.IsZero() { // what net/http still writes has a deadline too
		lw.arm()
	}
	lw.release(true)
}

// recovered handles a handler's panic p: logged with its stack (but
// http.ErrAbortHandler), answered 500 if no header is out yet, else the
// connection is aborted, as net/http does. One request never ends the
// process.
func (lh *limitHandler) recovered(lw *limitWriter, r *http.Request, p any) {
	if p == http.ErrAbortHandler {
		panic(p)
	}
	if pc := lw.pc; pc != nil { // what it holds is dropped: a 500 or an abort
		lw.pc, pc.hold, pc.held = nil, false, pc.held[:0]
	}
	lh.log.Error("handler panic", "path", r.URL.EscapedPath(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if lw.wrote {
		panic(http.ErrAbortHandler)
	}
	h := lw.Header()
	clear(h)
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Connection"] = []string{"close"}
	lw.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(lw, "internal server error\n")
}

// limitWriter is the ResponseWriter handlers see: it moves the write
// deadline on at each write, so that only a write that makes no progress
// for the write timeout fails.
type limitWriter struct {
	http.ResponseWriter
	req     *http.Request
	pc      *progressConn // of an HTTP/1.x request on plain TCP, while it holds writes
	conn    *progressConn // of an HTTP/1.x request on plain TCP
	rc      *http.ResponseController
	timeout time.Duration
	dl      time.Time
	wrote   bool // a header may be out
	h2      bool // an HTTP/2 stream: the deadline is armed only during a write

	// A response with a reason phrase of its own (reasonKey), buffered
	// until the handler returns.
	reason string
	code   int
	body   []byte
}

var (
	_ http.Flusher  = (*limitWriter)(nil)
	_ io.ReaderFrom = (*limitWriter)(nil)
)

// arm moves the write deadline unless the one set still leaves three
// quarters of the timeout: a busy response rarely touches its timers.
func (w *limitWriter) arm() {
	now := time.Now()
	if w.dl.IsZero() && w.conn != nil {
		// The deadline a previous response on the connection set may do:
		// keep-alive requests then rarely touch the connection's timer.
		if ns := w.conn.dl.Load(); ns != 0 {
			w.dl = time.Unix(0, ns)
		}
	}
	if w.dl.Sub(now) < w.timeout-w.timeout/4 {
		w.dl = now.Add(w.timeout)
		_ = w.rc.SetWriteDeadline(w.dl)
	}
}

// disarm clears the write deadline of an HTTP/2 stream after a write: its
// deadline is a timer that resets the stream when it fires, writing or
// not, so it must not run while the handler is between writes (streaming
// from a slow source). The connection's writes keep their own bound
// (WriteByteTimeout).
func (w *limitWriter) disarm() {
	if w.h2 && !w.dl.IsZero() {
		w.dl = time.Time{}
		_ = w.rc.SetWriteDeadline(time.Time{})
	}
}

// release ends the holding of writes by the connection (see
// progressConn.hold): what it holds goes out with the rest of the
// response net/http still buffers (end: the handler returned), or alone.
func (w *limitWriter) release(end bool) {
	pc := w.pc
	if pc == nil {
		return
	}
	w.pc = nil
	if end && len(pc.held) > 0 {
		// The header is out (it leads what is held), so flushing does not
		// change the framing; what net/http buffers joins what is held.
		_ = w.rc.Flush()
	}
	pc.hold = false
	_ = pc.flushHeld()
}

func (w *limitWriter) WriteHeader(code int) {
	if w.wrote {
		return // net/http would log a superfluous call
	}
	h := w.Header()
	if r, ok := h[reasonKey]; ok {
		delete(h, reasonKey)
		if code >= 200 && len(r) > 0 && r[0] != "" && w.req.ProtoMajor == 1 {
			w.reason, w.code, w.wrote = cleanReason(r[0]), code, true
			return
		}
	}
	if code >= 200 {
		w.wrote = true
		if w.pc != nil {
			w.pc.hold = true
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.reason != "" {
		w.body = append(w.body, p...)
		return len(p), nil
	}
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.arm()
	n, err := w.ResponseWriter.Write(p)
	w.disarm()
	return n, err
}

// WriteString is Write without a copy, as on net/http's writer.
func (w *limitWriter) WriteString(p string) (int, error) {
	if w.reason != "" {
		w.body = append(w.body, p...)
		return len(p), nil
	}
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.arm()
	n, err := io.WriteString(w.ResponseWriter, p)
	w.disarm()
	return n, err
}

// ReadFrom copies src in writes of 64 KiB, each moving the write
// deadline. For a 100 MiB file this beats net/http's sendfile path
// (wrk -c4 on loopback: 2.7 against 2.0–2.4 GB/s; nginx's sendfile
// 2.6–2.8), and a stalled download holds one buffer (256 KiB buffers
// were faster still, 3.0 GB/s, but cost their size per stalled client).
func (w *limitWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.reason != "" {
		return io.Copy(writerOnly{w}, src)
	}
	w.release(false) // a large body: what is held is its header
	if w.h2 {
		// Each write arms the deadline and clears it.
		return io.Copy(writerOnly{w}, src)
	}
	bp := bigBufs.Get().(*[]byte)
	defer bigBufs.Put(bp)
	return io.CopyBuffer(writerOnly{w}, src, *bp)
}

// bigBufs are the buffers of ReadFrom: one per download in flight.
var bigBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

type writerOnly struct{ io.Writer }

func (w *limitWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.reason != "" {
		return
	}
	w.release(false)
	w.arm()
	_ = w.rc.Flush()
	w.disarm()
}

// Hijack sends what the connection holds before the handler takes it.
func (w *limitWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.release(false)
	return w.rc.Hijack()
}

// Unwrap gives http.ResponseController the writer of net/http.
func (w *limitWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// reasonKey, set in a response's header, is the reason phrase of its
// HTTP/1.x status line in place of the status text; it is never sent as
// a field. twine prints the reason of a refused upload, where PyPI puts
// the error. (HTTP/2 has no reason phrase.)
const reasonKey = ":reason"

// maxReason bounds a reason phrase.
const maxReason = 1024

// cleanReason limits a reason phrase to visible characters and spaces.
func cleanReason(v string) string {
	if len(v) > maxReason {
		v = v[:maxReason]
	}
	b := []byte(v)
	for i, c := range b {
		if c < ' ' || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}

// sendReason sends the buffered response with its reason phrase, which
// net/http cannot write, on the hijacked connection, then closes it; if
// the connection cannot be hijacked, the response goes out with the
// status text.
func (w *limitWriter) sendReason() {
	w.release(false)
	h := w.Header()
	conn, bw, err := w.Hijack()
	if err != nil {
		w.reason = ""
		w.ResponseWriter.WriteHeader(w.code)
		_, _ = w.ResponseWriter.Write(w.body)
		return
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(w.timeout))
	fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\n", w.code, w.reason)
	delete(h, "Transfer-Encoding")
	h["Connection"] = []string{"close"}
	h["Content-Length"] = []string{strconv.Itoa(len(w.body))}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	}
	_ = h.Write(bw) // net/http's own field writer: values cannot break lines
	_, _ = bw.WriteString("\r\n")
	if w.req.Method != http.MethodHead {
		_, _ = bw.Write(w.body)
	}
	if bw.Flush() != nil {
		return
	}
	// Closing with request bytes unread would reset the connection, which
	// can destroy the answer: half-close, and read what the client still
	// sends until it closes (see lingerTimeout).
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.CopyN(io.Discard, conn, lingerBytes)
	}
}

// limitBody is a request body whose read deadline moves on while bytes
// arrive: a body may take long, but must keep coming. Once it is read to
// its end the deadline goes, so that net/http's watch for a client going
// away does not time out.
type limitBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	w       *limitWriter
	timeout time.Duration
	dl      time.Time
	n       int64 // bytes read
	done    bool
}

func (b *limitBody) arm() {
	if now := time.Now(); b.dl.Sub(now) < b.timeout-b.timeout/4 {
		b.dl = now.Add(b.timeout)
		_ = b.rc.SetReadDeadline(b.dl)
	}
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.w != nil {
		// The first read may ask for the body (100 Continue): what the
		// connection holds must not wait for the response.
		b.w.release(false)
		b.w = nil
	}
	if !b.done {
		b.arm()
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// lingerTimeout and lingerBytes bound the reading of what a client still
// sends of a body its handler left unread: long enough for a client
// sending a refused upload at loopback speed to finish and read the
// answer. Closing a socket with unread data resets it, which can
// destroy the answer before the client reads it.
const (
	lingerTimeout = 5 * time.Second
	lingerBytes   = 256 << 20
)

// drain sends the answer, then discards what is left of the body, within
// bounds, so that a client which sends its whole body before it reads
// the answer reads it. A client that waits for 100 Continue before it
// sends is not asked for its body.
func (b *limitBody) drain(w *limitWriter, r *http.Request) {
	if b.n == 0 && r.Header.Get("Expect") != "" {
		return
	}
	w.Flush()
	_ = b.rc.SetReadDeadline(time.Now().Add(lingerTimeout))
	if n, err := io.CopyN(io.Discard, b.ReadCloser, lingerBytes); errors.Is(err, io.EOF) && n < lingerBytes {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

const tooManyConns = "service unavailable: too many connections"

var refusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: " +
	strconv.Itoa(len(tooManyConns)) + "\r\n\r\n" + tooManyConns)

// capListener bounds the connections open at once, in all and per client
// address (addrKey): a connection past either is answered 503 and closed
// (a TLS one only closed: the answer would first need a handshake). The
// connections it returns are progressConns that give their slot back
// when closed.
type capListener struct {
	net.Listener
	total, perAddr int
	tls            bool
	span           time.Duration // the write timeout

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientaddr.Key(c.RemoteAddr().String())
		l.mu.Lock()
		full := l.open >= l.total || l.byAddr[key] >= l.perAddr
		if !full {
			l.open++
			l.byAddr[key]++
		}
		l.mu.Unlock()
		if full {
			l.refuse(c)
			continue
		}
		return &progressConn{Conn: c, span: l.span, release: func() { l.release(key) }}, nil
	}
}

func (l *capListener) release(key string) {
	l.mu.Lock()
	l.open--
	if l.byAddr[key]--; l.byAddr[key] <= 0 {
		delete(l.byAddr, key)
	}
	l.mu.Unlock()
}

// refuse answers c 503 and closes it. The reply is one small write a new
// socket takes at once; nothing is read, so a flood of connections costs
// no more than their accept.
func (l *capListener) refuse(c net.Conn) {
	if !l.tls {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write(refusal) // closing anyway
	}
	_ = c.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// progressConn is a net.Conn whose Write, on reaching its write deadline
// when some bytes were sent since the deadline was set, sets a new one
// span ahead and goes on: one long write of a slow but
// steady client completes. Under crypto/tls, for which a timed-out write
// is fatal, this is what lets TLS writes go on at all. Writes come from
// one goroutine at a time, a deadline may be set from another.
type progressConn struct {
	net.Conn
	span    time.Duration // the write timeout
	dl      atomic.Int64  // the write deadline set (Unix ns), 0 for none
	sent    atomic.Int64  // bytes written since
	release func()        // gives the connection's slot back, on Close
	closed  atomic.Bool

	// While hold is set (by the handler wrapper of an HTTP/1.x request,
	// which runs on the connection's goroutine), writes are kept in held,
	// up to holdMax, and go out with the next write once hold is off: a
	// response a little larger than net/http's 4 KiB connection buffer
	// leaves in one write with its header, not two.
	hold bool
	held []byte
}

// holdMax bounds what a connection holds back.
const holdMax = 16 << 10

// flushHeld sends what is held.
func (c *progressConn) flushHeld() error {
	if len(c.held) == 0 {
		return nil
	}
	p := c.held
	c.held = c.held[:0]
	_, err := c.write(p)
	return err
}

func (c *progressConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) && c.release != nil {
		c.release()
	}
	return err
}

func (c *progressConn) SetWriteDeadline(t time.Time) error {
	c.setDL(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *progressConn) SetDeadline(t time.Time) error {
	c.setDL(t)
	return c.Conn.SetDeadline(t)
}

func (c *progressConn) setDL(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.dl.Store(ns)
	c.sent.Store(0)
}

// more reports whether a write that failed with err after n bytes may go
// on, and if so sets the next deadline: it timed out at a deadline just
// reached (not one set in the past to abort it), and the client took
// bytes since the deadline was set.
func (c *progressConn) more(err error, n int64) bool {
	sent := c.sent.Add(n)
	if err == nil || sent == 0 || c.span <= 0 || !isTimeout(err) {
		return false
	}
	dl := c.dl.Load()
	now := time.Now()
	if dl == 0 || now.UnixNano()-dl > int64(c.span) {
		return false
	}
	c.sent.Store(0)
	next := now.Add(c.span)
	c.dl.Store(next.UnixNano())
	_ = c.Conn.SetWriteDeadline(next)
	return true
}

func (c *progressConn) Write(p []byte) (int, error) {
	if c.hold && len(c.held)+len(p) <= holdMax {
		if c.held == nil {
			c.held = make([]byte, 0, holdMax)
		}
		c.held = append(c.held, p...)
		return len(p), nil
	}
	c.hold = false
	if len(c.held) == 0 {
		return c.write(p)
	}
	// One writev of what is held and p.
	held := len(c.held)
	bufs := net.Buffers{c.held, p}
	var total int64
	for {
		n, err := bufs.WriteTo(c.Conn)
		total += n
		if !c.more(err, n) {
			c.held = c.held[:0]
			return int(max(total-int64(held), 0)), err
		}
	}
}

func (c *progressConn) write(p []byte) (int, error) {
	total := 0
	for {
		n, err := c.Conn.Write(p)
		total += n
		if !c.more(err, int64(n)) {
			return total, err
		}
		p = p[n:]
	}
}

// CloseWrite half-closes a TCP connection (after a hijack).
func (c *progressConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
