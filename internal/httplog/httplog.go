// Package httplog writes structured access logs: one JSON line per HTTP
// request, in the format of log/slog's JSONHandler (time, level, msg, then
// method, path, status, bytes, duration in nanoseconds, remote and
// user_agent), so the same tools read both. Lines are formatted without
// reflection and buffered, and the buffer is flushed periodically, so
// that logging does not throttle a busy server.
package httplog

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Logger writes access log lines to a buffered writer. It is safe for
// concurrent use.
type Logger struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	size int
	err  error
	stop chan struct{}
	done chan struct{}
	now  func() time.Time
}

// Option configures a Logger.
type Option func(*Logger)

// WithBufferSize sets the buffer size (default 64 KiB).
func WithBufferSize(n int) Option { return func(l *Logger) { l.size = n } }

// WithClock sets the clock that stamps lines and times requests.
func WithClock(now func() time.Time) Option { return func(l *Logger) { l.now = now } }

// FlushInterval is how often a Logger flushes its buffer.
const FlushInterval = time.Second

// New returns a Logger writing to w. Call Close to flush and stop it.
func New(w io.Writer, opts ...Option) *Logger {
	l := &Logger{stop: make(chan struct{}), done: make(chan struct{}), now: time.Now, size: 64 << 10}
	for _, o := range opts {
		o(l)
	}
	l.buf = bufio.NewWriterSize(w, max(l.size, 512))
	go l.flusher()
	return l
}

func (l *Logger) flusher() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			_ = l.Flush() // the error is kept and returned by Close
		}
	}
}

// Flush writes out the buffered lines.
func (l *Logger) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *Logger) flushLocked() error {
	if err := l.buf.Flush(); err != nil {
		if l.err == nil {
			l.err = err
		}
		l.buf.Reset(nil) // drop what cannot be written rather than stall
		return err
	}
	return nil
}

// Close stops the periodic flushing and flushes. It returns the first
// write error seen and does not close the underlying writer.
func (l *Logger) Close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.flushLocked() // kept in l.err
	return l.err
}

// write buffers one line whole, so a line is never split between flushes.
func (l *Logger) write(line []byte) {
	l.mu.Lock()
	if l.buf.Available() < len(line) && l.buf.Buffered() > 0 {
		_ = l.flushLocked() // kept in l.err
	}
	if _, err := l.buf.Write(line); err != nil && l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

// Entry is one access log record.
type Entry struct {
	Time      time.Time
	Method    string
	Path      string // the request target as received (path and query)
	Status    int
	Bytes     int64 // body bytes written
	Duration  time.Duration
	Remote    string
	UserAgent string
	Aborted   bool // the handler aborted the response
}

// Log writes one record.
func (l *Logger) Log(e *Entry) {
	bp := linePool.Get().(*[]byte)
	b := appendEntry((*bp)[:0], e)
	l.write(b)
	*bp = b
	linePool.Put(bp)
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendEntry formats e as log/slog's JSONHandler formats a record at
// level INFO with message "request" and e's fields as attributes.
func appendEntry(b []byte, e *Entry) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = appendString(b, e.Method)
	b = append(b, `,"path":`...)
	b = appendString(b, e.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, e.Bytes, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(e.Duration), 10)
	b = append(b, `,"remote":`...)
	b = appendString(b, e.Remote)
	b = append(b, `,"user_agent":`...)
	b = appendString(b, e.UserAgent)
	if e.Aborted {
		b = append(b, `,"aborted":true`...)
	}
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// (without HTML escaping); invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Middleware returns middleware that logs one record per request with l.
// A handler that panics (as with http.ErrAbortHandler) is logged with
// aborted set, and the panic goes on.
func (l *Logger) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := AcquireRecorder(w)
		start := l.now()
		done := false
		defer func() {
			uri := r.RequestURI // as received
			if uri == "" {
				uri = r.URL.RequestURI()
			}
			e := Entry{
				Time: start, Method: r.Method, Path: uri,
				Status: rec.status, Bytes: rec.bytes, Duration: l.now().Sub(start),
				Remote: r.RemoteAddr, UserAgent: r.Header.Get("User-Agent"), Aborted: !done,
			}
			if e.Status == 0 {
				e.Status = http.StatusOK
			}
			l.Log(&e)
			if done { // a panicking handler may still hold rec
				ReleaseRecorder(rec)
			}
		}()
		next.ServeHTTP(rec, r)
		done = true
	})
}

var recorderPool = sync.Pool{New: func() any { return new(Recorder) }}

// AcquireRecorder returns a pooled Recorder wrapping w.
func AcquireRecorder(w http.ResponseWriter) *Recorder {
	rec := recorderPool.Get().(*Recorder)
	rec.ResponseWriter, rec.status, rec.bytes = w, 0, 0
	return rec
}

// ReleaseRecorder returns rec to the pool once its handler has returned.
func ReleaseRecorder(rec *Recorder) {
	rec.ResponseWriter = nil
	recorderPool.Put(rec)
}

// Status is the response's status code (200 if the handler wrote none).
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Bytes is the size of the body written so far.
func (r *Recorder) Bytes() int64 { return r.bytes }

// Recorder notes the status and body size of a response, for access logs
// and metrics. It passes ReadFrom, Flush and Unwrap through, so that files
// still go out with the writer's own fast path.
type Recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *Recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}

// Flush flushes the response, if the writer supports it.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
