package content

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// copyConn is a connection whose ReadFrom, the first time, does what a
// read/write copy (the fallback when sendfile cannot run) does on a write
// timeout: it has read more of the source than it wrote.
type copyConn struct {
	net.Conn
	out   bytes.Buffer
	calls int
}

func (c *copyConn) ReadFrom(src io.Reader) (int64, error) {
	c.calls++
	if c.calls == 1 {
		buf := make([]byte, 64<<10)
		n, _ := io.ReadFull(src, buf)
		w := min(n, 16<<10)
		c.out.Write(buf[:w])
		return int64(w), os.ErrDeadlineExceeded
	}
	return io.Copy(&c.out, src)
}

func (c *copyConn) SetWriteDeadline(time.Time) error { return nil }

// A send from a file resumed after a timed-out call that read past what
// it wrote sends every byte, in order.
func TestProgressConnResumesAfterCopyTimeout(t *testing.T) {
	data := make([]byte, 200<<10)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	for _, limited := range []bool{true, false} {
		f, err := os.Open(path)
		require.NoError(t, err)
		_, err = f.Seek(1000, io.SeekStart) // a range starts mid-file
		require.NoError(t, err)
		cc := &copyConn{}
		pc := &progressConn{Conn: cc, span: time.Second}
		pc.dl.Store(time.Now().UnixNano())
		var src io.Reader = f
		if limited {
			src = &io.LimitedReader{R: f, N: int64(len(data) - 1000)}
		}
		n, err := pc.ReadFrom(src)
		f.Close()
		require.NoError(t, err, "limited %v", limited)
		require.Equal(t, int64(len(data)-1000), n, "limited %v", limited)
		require.True(t, bytes.Equal(data[1000:], cc.out.Bytes()), "limited %v: other bytes sent", limited)
		require.Equal(t, 2, cc.calls)
	}
}
