package main

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSyncHTTPRemoteHangs: a container remote with an http:// URL is
// reached over plain HTTP only (no TLS handshake is ever sent to it), and
// a sync waiting on a registry that accepts connections but never answers
// says what it waits for, naming the host, then fails with the plain-HTTP
// timeout.
func TestSyncHTTPRemoteHangs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		first [][]byte // the first bytes of each connection
		conns []net.Conn
	)
	done := make(chan struct{})
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				b := make([]byte, 4)
				n, _ := io.ReadFull(c, b)
				mu.Lock()
				first = append(first, b[:n])
				mu.Unlock()
				// and never answer
			}()
		}
	}()
	host := l.Addr().String()

	h := newHarness(t)
	h.ok("repo", "create", "img", "--kind", "container")
	h.ok("remote", "create", "up", "--kind", "container", "--url", "http://"+host, "--upstream-name", "library/alpine",
		"--retries", "0", "--connect-timeout", "3s", "--read-timeout", "3s")
	start := time.Now()
	r := h.run("sync", "up", "img")
	took := time.Since(start)
	require.NotEqual(t, 0, r.code, r.String())
	require.Less(t, took, time.Minute)
	require.Contains(t, r.stderr, "sync up: reading the index of http://"+host+" (waiting for "+host+")", "the wait is named")
	require.NotContains(t, r.stderr, "TLS")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, first, "the registry was asked")
	for _, b := range first {
		require.True(t, strings.HasPrefix(string(b), "GET "), "plain HTTP only, got %q", b)
	}
}
