// Package httpxtest starts real upstream servers for tests.
package httpxtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

// StaticServer serves dir with `python3 -m http.server` on a free loopback
// port, a real static server rather than one of ours, and returns its
// base URL ("http://127.0.0.1:PORT/"). The server stops when the test
// ends. The test is skipped if python3 is not installed.
func StaticServer(t testing.TB, dir string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the static upstream server is python3 -m http.server (CI installs python3)")
	}
	for try := 0; try < 3; try++ {
		port := FreePort(t)
		cmd := exec.Command(py, "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port), "--directory", dir)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start python3 -m http.server: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }() // exit status of a killed server is not interesting
		base := fmt.Sprintf("http://127.0.0.1:%d/", port)
		if waitUp(base, exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill() // it may have exited already
				<-exited
			})
			return base
		}
		_ = cmd.Process.Kill() // it may have exited already (port taken)
		<-exited
	}
	t.Fatalf("python3 -m http.server did not start")
	return ""
}

func waitUp(base string, exited <-chan struct{}) bool {
	client := &http.Client{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		select {
		case <-exited:
			return false
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, base, nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
