package uploads_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/uploads"
)

type countReader struct {
	r *strings.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A chunk announced as 10 bytes (an OCI PATCH with Content-Range 0-9 and
// a chunked body) is not read far past its size, a Limit given or not:
// the size mismatch shows at byte 11, not after the whole body (up to the
// upload limit) went to disk.
func TestAppendStopsAtAnnouncedSize(t *testing.T) {
	ctx := context.Background()
	_, e, _ := twoEngines(t)
	s, err := e.Create(ctx, "o", "oci:x", 0)
	require.NoError(t, err)
	body := &countReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
	_, err = e.Append(ctx, s.ID, body, uploads.AppendOptions{Start: 0, Size: 10, Limit: 1 << 30, Scope: "oci:x"})
	require.ErrorIs(t, err, uploads.ErrChunkSize)
	require.LessOrEqual(t, body.n, 11+256<<10, "read %d bytes of a chunk announced as 10", body.n)
}
