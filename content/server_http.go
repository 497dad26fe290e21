package content

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The connection server behind Serve: HTTP/1.x keep-alive connections,
// each request parsed by http.ReadRequest and handed to an http.Handler.
// It exists for speed: net/http writes a response larger than its 4 KiB
// connection buffer with two syscalls and starts a background read (a
// goroutine) per request; here a response of up to respBufSize bytes
// leaves with its header in one writev, and larger bodies in respCopySize
// writes. On a two-core machine that takes a minimal net/http server from
// about 0.7 of nginx's small-file throughput to about 1.0. It serves what
// a read-only content server needs: keep-alive and pipelining, HEAD,
// Content-Length or chunked bodies, io.ReaderFrom and http.Flusher on the
// ResponseWriter. A request with a body is answered and its connection
// closed, so no body is ever parsed as a request. Request contexts are
// not canceled when a client goes away; a write to it fails instead.
//
// Deadlines bound what a client can hold (see ServeOption): a header
// must arrive within the header timeout of its first byte, body reads and
// the wait between requests within the idle timeout, and each write must
// make progress within the write timeout. Write and body deadlines move
// at most every quarter of their timeout, so a busy connection rarely
// touches its timers.

const (
	// respBufSize is how much body a response buffers before it sends its
	// header: a whole small file, so header and body leave in one writev.
	respBufSize = 32 << 10
	// respCopySize is the chunk in which larger bodies are read and sent.
	// A client that stops reading holds it until the write timeout, so
	// it stays small: 64 KiB sends as fast as 256 KiB did on loopback,
	// at a quarter of the memory per stalled download.
	respCopySize = 64 << 10
	// lingerTimeout and lingerBytes bound the reading of what a client
	// still sends after its connection is half-closed (see linger): long
	// enough for a client sending a refused upload at loopback speed to
	// finish and read the answer (discarding costs no memory).
	lingerTimeout = 5 * time.Second
	lingerBytes   = 256 << 20
)

var errHeaderTooLarge = errors.New("request header too large")

// connServer serves HTTP/1.x connections with a handler.
type connServer struct {
	h   http.Handler
	log *slog.Logger

	headerTimeout, idleTimeout, writeTimeout time.Duration
	maxHeader                                int
	maxConns, maxPerAddr                     int

	bufs   sync.Pool // *[]byte of respBufSize capacity: response bodies
	copies sync.Pool // *[]byte of respCopySize: copy buffers
	date   atomic.Pointer[dateEntry]

	mu       sync.Mutex
	conns    map[*hconn]struct{}
	perAddr  map[string]int // open connections by addrKey
	wg       sync.WaitGroup
	shutting atomic.Bool
}

// serve accepts connections on l until ctx is done, then stops accepting,
// lets requests in flight finish for up to grace, and closes what is left.
func (cs *connServer) serve(ctx context.Context, l net.Listener, grace time.Duration) error {
	cs.conns = map[*hconn]struct{}{}
	cs.perAddr = map[string]int{}
	stop := context.AfterFunc(ctx, func() { _ = l.Close() }) // Accept returns at once
	defer stop()
	var err error
	delay := time.Duration(0)
	for {
		c, aerr := l.Accept()
		if aerr != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(aerr, &ne) && ne.Timeout() || errors.Is(aerr, os.ErrDeadlineExceeded) || isTemporary(aerr) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				cs.log.Error("accept", "err", aerr, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			err = aerr
			break
		}
		delay = 0
		hc := newHconn(cs, c)
		cs.mu.Lock()
		full := len(cs.conns) >= cs.maxConns || cs.perAddr[hc.addr] >= cs.maxPerAddr
		if !full {
			cs.conns[hc] = struct{}{}
			cs.perAddr[hc.addr]++
			cs.wg.Add(1)
		}
		cs.mu.Unlock()
		if full {
			hc.refuse()
			continue
		}
		go hc.serve()
	}
	_ = l.Close()
	cs.shutdown(grace)
	return err
}

const tooManyConns = "service unavailable: too many connections"

var refusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: " +
	strconv.Itoa(len(tooManyConns)) + "\r\n\r\n" + tooManyConns)

// refuse answers a connection past the limits 503 and closes it. The
// reply is one small write a new socket takes at once; a TLS connection
// would first need a handshake, so it is only closed.
func (hc *hconn) refuse() {
	if !hc.tls {
		_ = hc.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = hc.c.Write(refusal) // closing anyway
	}
	_ = hc.c.Close()
}

// isTemporary reports accept errors worth retrying, such as EMFILE.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// shutdown wakes idle connections so they close, waits for the others to
// finish their request, and after grace closes whatever is left.
func (cs *connServer) shutdown(grace time.Duration) {
	cs.shutting.Store(true)
	cs.mu.Lock()
	for hc := range cs.conns {
		_ = hc.c.SetReadDeadline(time.Now()) // a connection reading its next request stops
	}
	cs.mu.Unlock()
	done := make(chan struct{})
	go func() { cs.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	cs.mu.Lock()
	for hc := range cs.conns {
		_ = hc.c.Close()
	}
	cs.mu.Unlock()
	<-done
}

// hconn is one client connection.
type hconn struct {
	cs     *connServer
	c      net.Conn
	lr     limitReader
	br     *bufio.Reader
	remote string
	addr   string // addrKey of remote, for the per-address limit
	resp   response
	hdr    []byte
	vec    [6][]byte // backing array of the writev of a header
	wdl    time.Time // write deadline last set
	wsent  int64     // bytes sent since
	tls    bool      // a timed-out write leaves a TLS conn unusable
}

func newHconn(cs *connServer, c net.Conn) *hconn {
	hc := &hconn{cs: cs, c: c, remote: c.RemoteAddr().String()}
	hc.addr = addrKey(hc.remote)
	_, hc.tls = c.(*tls.Conn)
	hc.lr.r = c
	hc.resp.hc = hc
	hc.resp.header = make(http.Header, 8)
	return hc
}

// addrKey names the client a connection from remote ("IP:port") counts
// against in the per-address limit: an IPv4 address (IPv4-mapped IPv6
// too) is one client, an IPv6 one counts with its /64, as one host is
// commonly given a whole /64 and may use any address in it.
func addrKey(remote string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil { // not IP (a pipe, a unix socket)
		return remote
	}
	a := ap.Addr().Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// limitReader reads from r while n > 0, then fails with errHeaderTooLarge.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func (hc *hconn) serve() {
	defer func() {
		_ = hc.c.Close()
		hc.cs.mu.Lock()
		delete(hc.cs.conns, hc)
		if hc.cs.perAddr[hc.addr]--; hc.cs.perAddr[hc.addr] <= 0 {
			delete(hc.cs.perAddr, hc.addr)
		}
		hc.cs.mu.Unlock()
		hc.cs.wg.Done()
	}()
	cs := hc.cs
	hc.br = bufio.NewReaderSize(&hc.lr, 4<<10) // not for a refused connection
	// The first request's header (and TLS handshake) must come within the
	// header timeout of the accept.
	_ = hc.c.SetReadDeadline(time.Now().Add(cs.headerTimeout))
	for first := true; ; first = false {
		if !first {
			_ = hc.c.SetReadDeadline(time.Now().Add(cs.idleTimeout))
		}
		if cs.shutting.Load() {
			return
		}
		hc.lr.n = int64(cs.maxHeader) + 4<<10
		if !first {
			if _, err := hc.br.Peek(1); err != nil {
				hc.badRequest(err)
				return
			}
			if !hc.headerBuffered() {
				_ = hc.c.SetReadDeadline(time.Now().Add(cs.headerTimeout))
			}
		}
		req, err := http.ReadRequest(hc.br)
		if err != nil {
			if hc.badRequest(err) {
				hc.linger()
			}
			return
		}
		hc.lr.n = 1 << 62
		hasBody := req.Body != http.NoBody
		if hasBody {
			req.Body = &bodyReader{hc: hc, rc: req.Body}
		}
		if !hc.serveOne(req) {
			if hasBody {
				hc.linger()
			}
			return
		}
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// headerBuffered reports whether a whole request header is already read,
// as with a client that sends each request in one packet: then no
// header deadline is needed.
func (hc *hconn) headerBuffered() bool {
	b, _ := hc.br.Peek(hc.br.Buffered())
	return bytes.Contains(b, crlfcrlf)
}

// linger half-closes the connection and discards what the client still
// sends, for a little while, before the connection is closed: closing a
// socket with unread data resets it, which can destroy the response
// before the client reads it.
func (hc *hconn) linger() {
	cw, ok := hc.c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = hc.c.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.CopyN(io.Discard, hc.c, lingerBytes)
}

// bodyReader reads a request body, moving the read deadline while bytes
// arrive: a body may take long, but must keep coming.
type bodyReader struct {
	hc     *hconn
	rc     io.ReadCloser
	dl     time.Time
	closed bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	t := b.hc.cs.idleTimeout
	if now := time.Now(); b.dl.Sub(now) < t-t/4 {
		b.dl = now.Add(t)
		_ = b.hc.c.SetReadDeadline(b.dl)
	}
	return b.rc.Read(p)
}

// Close does not read the rest of the body (http.ReadRequest's body
// would): the connection closes after a request with a body anyway.
func (b *bodyReader) Close() error {
	b.closed = true
	return nil
}

// armWrite sets the write deadline before a write, unless the one set
// still leaves three quarters of the timeout.
func (hc *hconn) armWrite() {
	t := hc.cs.writeTimeout
	if now := time.Now(); hc.wdl.Sub(now) < t-t/4 {
		hc.wdl, hc.wsent = now.Add(t), 0
		_ = hc.c.SetWriteDeadline(hc.wdl)
	}
}

// moreTime reports whether a write that failed with err may go on with a
// new deadline: it timed out, but the client took bytes since the last
// deadline was set. (A TLS connection cannot go on after a timeout; see
// progressConn.)
func (hc *hconn) moreTime(err error) bool {
	if hc.wsent == 0 || hc.tls || !isTimeout(err) {
		return false
	}
	hc.wdl = time.Time{}
	hc.armWrite()
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// write sends p within the write timeout of progress.
func (hc *hconn) write(p []byte) error {
	hc.armWrite()
	for {
		n, err := hc.c.Write(p)
		hc.wsent += int64(n)
		if err == nil || !hc.moreTime(err) {
			return err
		}
		p = p[n:]
	}
}

// writev sends bufs (in one writev when it can) within the write timeout
// of progress. WriteTo consumes what it sent from bufs.
func (hc *hconn) writev(bufs net.Buffers) error {
	hc.armWrite()
	for {
		n, err := bufs.WriteTo(hc.c)
		hc.wsent += n
		if err == nil || !hc.moreTime(err) {
			return err
		}
	}
}

// badRequest answers a request that could not be read, unless the client
// just went away; it reports whether the client may still be sending.
func (hc *hconn) badRequest(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.As(err, &ne) && ne.Timeout():
		return false
	case errors.Is(err, errHeaderTooLarge):
		hc.rawReply(http.StatusRequestHeaderFieldsTooLarge, "request header too large")
		return true
	default:
		hc.rawReply(http.StatusBadRequest, "bad request")
		return false
	}
}

func (hc *hconn) rawReply(code int, msg string) {
	_ = hc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = fmt.Fprintf(hc.c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", code, http.StatusText(code), len(msg), msg) // closing anyway
}

// serveOne runs the handler for req and finishes the response; it reports
// whether the connection can carry another request.
func (hc *hconn) serveOne(req *http.Request) bool {
	req.RemoteAddr = hc.remote
	w := &hc.resp
	keep := !req.Close && req.ContentLength == 0 && !hc.cs.shutting.Load()
	if req.ProtoMajor != 1 {
		hc.rawReply(http.StatusHTTPVersionNotSupported, "HTTP/1.x only")
		return false
	}
	if req.ProtoMinor >= 1 && req.Host == "" {
		hc.rawReply(http.StatusBadRequest, "missing Host header")
		return false
	}
	w.reset(req, keep)
	if !hc.runHandler(w, req) {
		w.release()
		return false
	}
	ok := w.finish()
	w.release()
	return ok && w.keep && !hc.cs.shutting.Load()
}

// runHandler calls the handler; a panic aborts the response (and closes
// the connection), as in net/http. Any panic but http.ErrAbortHandler is
// logged with its stack and, if no header is on the wire yet, answered
// 500: one request never ends the process.
func (hc *hconn) runHandler(w *response, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			if p == http.ErrAbortHandler {
				return
			}
			hc.cs.log.Error("handler panic", "path", req.URL.EscapedPath(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !w.sent {
				hc.rawReply(http.StatusInternalServerError, "internal server error")
			}
		}
	}()
	hc.cs.h.ServeHTTP(w, req)
	return true
}

// response is the http.ResponseWriter of one request on an hconn.
type response struct {
	hc  *hconn
	req *http.Request

	header      http.Header
	status      int
	wroteHeader bool // status decided
	sent        bool // header on the wire
	head        bool
	bodyOK      bool  // the status allows a body
	clen        int64 // declared Content-Length, or -1
	chunked     bool
	closeDelim  bool // body ends when the connection closes (HTTP/1.0)
	keep        bool
	written     int64 // body bytes the handler wrote
	buf         *[]byte
	err         error
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ io.ReaderFrom       = (*response)(nil)
)

func (w *response) reset(req *http.Request, keep bool) {
	clear(w.header)
	w.req, w.status, w.wroteHeader, w.sent = req, 0, false, false
	w.head = req.Method == http.MethodHead
	w.bodyOK, w.clen, w.chunked, w.closeDelim = true, -1, false, false
	w.keep, w.written, w.err = keep, 0, nil
}

func (w *response) release() {
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		w.hc.cs.bufs.Put(w.buf)
		w.buf = nil
	}
	w.req = nil
}

// Header returns the response header map.
func (w *response) Header() http.Header { return w.header }

// WriteHeader decides the status; later calls are ignored, as are 1xx
// codes.
func (w *response) WriteHeader(code int) {
	if w.wroteHeader || code < 200 {
		return
	}
	if code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	w.wroteHeader, w.status = true, code
	w.bodyOK = code != http.StatusNoContent && code != http.StatusNotModified
	if v, ok := w.header["Content-Length"]; ok {
		n, err := int64(-1), error(nil)
		if len(v) == 1 {
			n, err = strconv.ParseInt(v[0], 10, 64)
		}
		if err == nil && n >= 0 {
			w.clen = n
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

// Write adds body bytes: buffered while they fit beside the header,
// then sent as they come.
func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyOK {
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	var short error
	if w.clen >= 0 && w.written+int64(len(p)) > w.clen {
		p = p[:w.clen-w.written]
		short = http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head {
		return len(p), short
	}
	if !w.sent {
		buffered := 0
		if w.buf != nil {
			buffered = len(*w.buf)
		}
		if buffered+len(p) <= respBufSize {
			if w.buf == nil {
				w.buf = w.hc.cs.getBuf()
			}
			*w.buf = append(*w.buf, p...)
			return len(p), short
		}
		// Too large to buffer (a copy's first chunk): sent with the
		// header, without taking a buffer.
		if err := w.sendHeader(p); err != nil {
			return 0, err
		}
		return len(p), short
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), short
}

// writeBody sends body bytes after the header.
func (w *response) writeBody(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	var err error
	if w.chunked {
		var pre [20]byte
		b := strconv.AppendInt(pre[:0], int64(len(p)), 16)
		b = append(b, '\r', '\n')
		err = w.hc.writev(net.Buffers{b, p, crlf})
	} else {
		err = w.hc.write(p)
	}
	if err != nil {
		w.err = err
	}
	return err
}

var crlf = []byte("\r\n")

// ReadFrom copies src to the body through a large buffer: a body that
// fits the response buffer leaves with the header in one write, a larger
// one in respCopySize writes. (On loopback this measured faster than
// sendfile, and on par with nginx; for 50 MiB container layers too:
// sendfile spares the server's CPU but slows the reading client by ~10 %.)
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	bp := w.hc.cs.getCopyBuf()
	defer w.hc.cs.copies.Put(bp)
	// Hide src's WriteTo (an *os.File has one), which would copy through
	// a small buffer of its own.
	return io.CopyBuffer(writerOnly{w}, struct{ io.Reader }{src}, *bp)
}

type writerOnly struct{ io.Writer }

func (cs *connServer) getBuf() *[]byte {
	if b, ok := cs.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, respBufSize)
	return &b
}

func (cs *connServer) getCopyBuf() *[]byte {
	if b, ok := cs.copies.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, respCopySize)
	return &b
}

// Flush sends the header and what is buffered.
func (w *response) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent && w.err == nil {
		_ = w.sendHeader(nil) // kept in w.err
	}
}

// sendHeader writes the header, the buffered body and then extra, in one
// writev. A response whose length is unknown at this point is chunked
// (HTTP/1.1) or ends with the connection (HTTP/1.0).
func (w *response) sendHeader(extra []byte) error {
	w.sent = true
	if w.bodyOK && w.clen < 0 && !w.head {
		if w.req.ProtoAtLeast(1, 1) {
			w.chunked = true
		} else {
			w.closeDelim, w.keep = true, false
		}
	}
	hdr := w.appendHeader(w.hc.hdr[:0])
	w.hc.hdr = hdr
	var body []byte
	if w.buf != nil {
		body = *w.buf
	}
	bufs := net.Buffers(w.hc.vec[:0])
	bufs = append(bufs, hdr)
	if w.chunked {
		for _, p := range [][]byte{body, extra} {
			if len(p) > 0 {
				var pre [20]byte
				b := strconv.AppendInt(pre[:0], int64(len(p)), 16)
				bufs = append(bufs, append(b, '\r', '\n'), p, crlf)
			}
		}
	} else {
		if len(body) > 0 {
			bufs = append(bufs, body)
		}
		if len(extra) > 0 {
			bufs = append(bufs, extra)
		}
	}
	err := w.hc.writev(bufs)
	if w.buf != nil {
		// The rest of the body goes out unbuffered: the buffer goes back
		// to the pool now, not when the (maybe slow) response ends.
		*w.buf = (*w.buf)[:0]
		w.hc.cs.bufs.Put(w.buf)
		w.buf = nil
	}
	if err != nil {
		w.err = err
	}
	return err
}

// appendHeader formats the status line and header fields.
func (w *response) appendHeader(b []byte) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	h := w.header
	b = appendReason(b, w.status, h)
	b = append(b, "\r\n"...)
	if !w.bodyOK {
		delete(h, "Transfer-Encoding")
	}
	for k, vs := range h {
		if k == "Transfer-Encoding" || k == "Connection" || !validFieldName(k) {
			continue // framing is ours to decide
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendFieldValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	if _, ok := h["Date"]; !ok {
		b = append(b, w.hc.cs.dateLine()...)
	}
	switch {
	case w.chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case !w.keep:
		b = append(b, "Connection: close\r\n"...)
	case !w.req.ProtoAtLeast(1, 1):
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendFieldValue appends v with CR and LF replaced by spaces, as
// net/http does, so a value cannot start a new field.
func appendFieldValue(b []byte, v string) []byte {
	if strings.IndexByte(v, '\n') < 0 && strings.IndexByte(v, '\r') < 0 {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// reasonKey, set in a response's header, is the reason phrase of its
// status line in place of the status text; it is never sent as a field
// (a name with ':' is not one, and net/http drops it too). twine prints
// the reason of a refused upload, where PyPI puts the error.
const reasonKey = ":reason"

// maxReason bounds a reason phrase.
const maxReason = 1024

// appendReason appends the status line's reason phrase: h's reasonKey,
// limited to visible characters and spaces, else the status text.
func appendReason(b []byte, code int, h http.Header) []byte {
	r := h[reasonKey]
	if len(r) == 0 || r[0] == "" {
		return append(b, http.StatusText(code)...)
	}
	v := r[0]
	if len(v) > maxReason {
		v = v[:maxReason]
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' || c == 0x7f {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// finish completes the response after the handler returned; it reports
// whether the connection is still usable.
func (w *response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return false
	}
	if !w.sent {
		if w.bodyOK && w.clen < 0 && (!w.head || w.written > 0) {
			w.clen = w.written
			w.header["Content-Length"] = []string{strconv.FormatInt(w.written, 10)}
		}
		if w.sendHeader(nil) != nil {
			return false
		}
	} else if w.chunked {
		if err := w.hc.write([]byte("0\r\n\r\n")); err != nil {
			return false
		}
	}
	if w.closeDelim || (w.bodyOK && !w.head && w.clen >= 0 && w.written != w.clen) {
		return false // the body is cut short: only closing tells the client
	}
	return true
}

// dateLine returns the Date header line, formatted once a second.
func (cs *connServer) dateLine() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := cs.date.Load(); d != nil && d.sec == sec {
		return d.line
	}
	d := &dateEntry{sec: sec, line: []byte("Date: " + now.UTC().Format(http.TimeFormat) + "\r\n")}
	cs.date.Store(d)
	return d.line
}

type dateEntry struct {
	sec  int64
	line []byte
}

// progressListener wraps the connections it accepts in a progressConn.
// ListenAndServeTLS puts it under crypto/tls, for which a timed-out write
// is fatal, so that its writes too have until the client stops reading.
type progressListener struct{ net.Listener }

func (l progressListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &progressConn{Conn: c}, nil
}

// progressConn is a net.Conn whose Write, on reaching its deadline when
// some bytes were sent since the deadline was set, sets a new one as far
// ahead as the last and goes on. Writes come from one goroutine at a
// time (crypto/tls holds a lock), a deadline may be set from another.
type progressConn struct {
	net.Conn
	span atomic.Int64 // time.Duration from the last SetWriteDeadline to its deadline
	sent atomic.Int64 // bytes written since
}

func (c *progressConn) SetWriteDeadline(t time.Time) error {
	c.span.Store(int64(time.Until(t)))
	c.sent.Store(0)
	return c.Conn.SetWriteDeadline(t)
}

func (c *progressConn) SetDeadline(t time.Time) error {
	c.span.Store(int64(time.Until(t)))
	c.sent.Store(0)
	return c.Conn.SetDeadline(t)
}

func (c *progressConn) Write(p []byte) (int, error) {
	total := 0
	for {
		n, err := c.Conn.Write(p)
		total += n
		sent := c.sent.Add(int64(n))
		span := time.Duration(c.span.Load())
		if err == nil || sent == 0 || span <= 0 || !isTimeout(err) {
			return total, err
		}
		p = p[n:]
		c.sent.Store(0)
		_ = c.Conn.SetWriteDeadline(time.Now().Add(span))
	}
}
