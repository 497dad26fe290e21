package objects_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/objects/fs"
)

const benchSize = 64 << 20

func benchPut(b *testing.B, data []byte) {
	backend, err := fs.New(b.TempDir())
	require.NoError(b, err)
	s := objects.New(backend)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		batch := s.NewBatch()
		res, err := batch.PutBlob(b.Context(), bytes.NewReader(data))
		require.NoError(b, err)
		require.True(b, res.New)
		batch.Abort() // measure ingest (hash, compress, write), not fsync
	}
}

// BenchmarkPutBlobIncompressible ingests 64 MiB of random bytes (stored
// raw) into an fs backend; compare with BenchmarkSHA256.
func BenchmarkPutBlobIncompressible(b *testing.B) {
	benchPut(b, randomBytes(benchSize, 42))
}

// BenchmarkPutBlobCompressible ingests 64 MiB of text (stored compressed).
func BenchmarkPutBlobCompressible(b *testing.B) {
	benchPut(b, textBytes(benchSize))
}

// BenchmarkSHA256 is the baseline: hashing alone, in 1 MiB writes.
func BenchmarkSHA256(b *testing.B) {
	data := randomBytes(benchSize, 42)
	b.SetBytes(benchSize)
	for b.Loop() {
		h := sha256.New()
		for off := 0; off < len(data); off += 1 << 20 {
			h.Write(data[off : off+1<<20])
		}
		h.Sum(nil)
	}
}

// BenchmarkOpenBlob reads and verifies a 64 MiB blob.
func BenchmarkOpenBlob(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"raw", randomBytes(benchSize, 43)},
		{"compressed", textBytes(benchSize)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			backend, err := fs.New(b.TempDir())
			require.NoError(b, err)
			s := objects.New(backend)
			batch := s.NewBatch()
			res, err := batch.PutBlob(b.Context(), bytes.NewReader(tc.data))
			require.NoError(b, err)
			require.NoError(b, batch.Flush(b.Context()))
			b.SetBytes(benchSize)
			b.ResetTimer()
			for b.Loop() {
				rc, err := s.OpenBlob(b.Context(), res.ID)
				require.NoError(b, err)
				_, err = io.Copy(io.Discard, rc)
				require.NoError(b, err)
				require.NoError(b, rc.Close())
			}
		})
	}
}
