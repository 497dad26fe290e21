package httplog

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkMiddleware(b *testing.B) {
	l := New(io.Discard)
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

func BenchmarkAppend(b *testing.B) {
	e := Entry{Method: "GET", Path: "/content/d/f1.bin", Status: 200, Bytes: 4096, Remote: "127.0.0.1:45678", UserAgent: "wrk"}
	buf := make([]byte, 0, 512)
	for i := 0; i < b.N; i++ {
		buf = appendEntry(buf[:0], &e)
	}
}
