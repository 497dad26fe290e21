// Package httplog writes structured access logs: one log/slog record per
// HTTP request (method, path, status, bytes, duration, remote address, user
// agent), through a Writer that buffers lines and flushes them
// periodically, so that logging does not throttle a busy server.
package httplog

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Writer is a buffered io.Writer safe for concurrent use. Each Write is
// kept whole (a log line is never split between flushes); the buffer is
// flushed when full, every interval, and by Flush and Close.
type Writer struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	err  error
	stop chan struct{}
	done chan struct{}
}

// NewWriter returns a Writer on w with a buffer of size bytes (64 KiB if
// size <= 0), flushed every interval (1 s if interval <= 0).
func NewWriter(w io.Writer, size int, interval time.Duration) *Writer {
	if size <= 0 {
		size = 64 << 10
	}
	if interval <= 0 {
		interval = time.Second
	}
	bw := &Writer{buf: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go bw.flusher(interval)
	return bw
}

func (w *Writer) flusher(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush() // the error is kept and returned by Close
		}
	}
}

// Write buffers p.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Available() < len(p) && w.buf.Buffered() > 0 {
		w.flushLocked()
	}
	n, err := w.buf.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Flush writes out everything buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if err := w.buf.Flush(); err != nil {
		if w.err == nil {
			w.err = err
		}
		w.buf.Reset(nil) // drop what cannot be written rather than stall
		return err
	}
	return nil
}

// Close stops the periodic flushing and flushes; it returns the first
// write error seen. It does not close the underlying writer.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	return w.err
}

// Middleware logs one record per request with l, at level Info, message
// "request", with the attributes method, path (escaped, with the query),
// status, bytes (body bytes written), duration (nanoseconds in JSON),
// remote and user_agent, and aborted when the handler aborted the response
// (panicked, as with http.ErrAbortHandler).
func Middleware(l *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := recorderPool.Get().(*recorder)
			rec.ResponseWriter, rec.status, rec.bytes = w, 0, 0
			done := false
			defer func() {
				status := rec.status
				if status == 0 {
					status = http.StatusOK
				}
				attrs := [...]slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.RequestURI()),
					slog.Int("status", status),
					slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("remote", r.RemoteAddr),
					slog.String("user_agent", r.UserAgent()),
					slog.Bool("aborted", true),
				}
				n := len(attrs) - 1
				if !done {
					n++
				}
				l.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs[:n]...)
				if done {
					rec.ResponseWriter = nil
					recorderPool.Put(rec)
				}
			}()
			next.ServeHTTP(rec, r)
			done = true
		})
	}
}

var recorderPool = sync.Pool{New: func() any { return new(recorder) }}

// recorder notes the status and body size of a response. It passes
// ReadFrom through, so that files still go out with sendfile.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
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
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
