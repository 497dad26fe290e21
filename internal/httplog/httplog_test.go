package httplog_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/httplog"
)

// syncBuffer is a bytes.Buffer safe for the logger's flusher goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

func TestMiddleware(t *testing.T) {
	var out syncBuffer
	start := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	now := start
	var mu sync.Mutex
	l := httplog.New(&out, httplog.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(1500 * time.Microsecond)
		return now
	}))
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "hello")
		case "/file":
			w.Header().Set("Content-Length", "6")
			w.(io.ReaderFrom).ReadFrom(strings.NewReader("sixsix"))
		case "/missing":
			http.Error(w, "nope", http.StatusNotFound)
		case "/abort":
			io.WriteString(w, "part")
			panic(http.ErrAbortHandler)
		}
	}))
	for _, target := range []string{"/ok", "/file?x=1", "/missing", "/we\"ird\n"} {
		r := httptest.NewRequest("GET", "http://x/", nil)
		r.RequestURI = target
		r.URL.Path = strings.Split(target, "?")[0]
		r.Header.Set("User-Agent", "test/1 \"quoted\"")
		r.RemoteAddr = "192.0.2.1:1234"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	func() {
		defer func() { require.Equal(t, http.ErrAbortHandler, recover()) }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("HEAD", "/abort", nil))
	}()
	require.Empty(t, out.String(), "buffered until a flush")
	require.NoError(t, l.Close())

	got := lines(t, out.String())
	require.Len(t, got, 5)
	want := []struct {
		path   string
		status float64
		bytes  float64
	}{{"/ok", 200, 5}, {"/file?x=1", 200, 6}, {"/missing", 404, 5}, {"/we\"ird\n", 200, 0}, {"/abort", 200, 4}}
	for i, w := range want {
		m := got[i]
		require.Equal(t, w.path, m["path"])
		require.Equal(t, w.status, m["status"])
		require.Equal(t, w.bytes, m["bytes"])
		require.Equal(t, "INFO", m["level"])
		require.Equal(t, "request", m["msg"])
		require.Equal(t, float64(1500*time.Microsecond), m["duration"])
		_, err := time.Parse(time.RFC3339Nano, m["time"].(string))
		require.NoError(t, err)
	}
	require.Equal(t, "GET", got[0]["method"])
	require.Equal(t, "192.0.2.1:1234", got[0]["remote"])
	require.Equal(t, "test/1 \"quoted\"", got[0]["user_agent"])
	require.Equal(t, "HEAD", got[4]["method"])
	require.Equal(t, true, got[4]["aborted"])
	require.NotContains(t, got[0], "aborted")
}

// TestSlogFormat checks that a line reads as log/slog's JSONHandler would
// write the same record.
func TestSlogFormat(t *testing.T) {
	var a, b bytes.Buffer
	tm := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	e := httplog.Entry{Time: tm, Method: "GET", Path: "/a\u2028b\x01\xff", Status: 206, Bytes: 42,
		Duration: 1234567, Remote: "[::1]:80", UserAgent: "<ua>&"}
	l := httplog.New(&a)
	l.Log(&e)
	require.NoError(t, l.Close())
	s := slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr {
		if at.Key == slog.TimeKey {
			return slog.Time(slog.TimeKey, tm)
		}
		return at
	}}))
	s.Info("request", "method", e.Method, "path", e.Path, "status", e.Status, "bytes", e.Bytes,
		"duration", e.Duration, "remote", e.Remote, "user_agent", e.UserAgent)
	require.Equal(t, b.String(), a.String())
}

func TestPeriodicFlush(t *testing.T) {
	var out syncBuffer
	l := httplog.New(&out)
	defer l.Close()
	l.Log(&httplog.Entry{Method: "GET", Path: "/", Status: 200})
	require.Eventually(t, func() bool { return strings.Contains(out.String(), `"path":"/"`) },
		3*httplog.FlushInterval, 50*time.Millisecond)
}

func TestWholeLines(t *testing.T) {
	var out syncBuffer
	l := httplog.New(&out, httplog.WithBufferSize(1000))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				l.Log(&httplog.Entry{Method: "GET", Path: "/" + strings.Repeat("p", i%300), Status: 200})
			}
		}()
	}
	wg.Wait()
	require.NoError(t, l.Close())
	require.Len(t, lines(t, out.String()), 4000)
}

func BenchmarkMiddleware(b *testing.B) {
	l := httplog.New(io.Discard)
	defer l.Close()
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	r := httptest.NewRequest("GET", "/content/d/f1.bin", nil)
	r.Header.Set("User-Agent", "wrk")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := httptest.NewRecorder()
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}
