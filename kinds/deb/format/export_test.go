package format

import (
	"bufio"
	"bytes"
	"io"

	"github.com/ulikunitz/xz"
)

// DecompressUnguardedXz reads in with the xz reader alone.
func DecompressUnguardedXz(in []byte, limit int64) ([]byte, error) {
	zr, err := xz.NewReader(bufio.NewReader(bytes.NewReader(in)))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, limit))
}
