package format_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// fuzzLimits keeps each fuzz run small.
var fuzzLimits = format.Limits{Metadata: 64 << 10, Entries: 1000, Unpacked: 8 << 20}

// FuzzReadWheel feeds arbitrary bytes to the wheel reader as
// alpha-1.0-py3-none-any.whl: it must fail with ErrInvalid or return
// metadata naming alpha 1.0 within the limits, and never panic. The seed
// corpus is in testdata/fuzz/FuzzReadWheel.
func FuzzReadWheel(f *testing.F) {
	_, good := pythontest.Spec{Name: "alpha", Version: "1.0", RequiresPython: ">=3.7"}.Wheel()
	f.Add(good)
	_, stored := pythontest.Spec{Name: "alpha", Version: "1.0", Store: true}.Wheel()
	f.Add(stored)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := format.ReadDist(context.Background(), bytes.NewReader(data), int64(len(data)), "alpha-1.0-py3-none-any.whl", fuzzLimits)
		if err != nil {
			require.ErrorIs(t, err, format.ErrInvalid)
			return
		}
		require.Equal(t, "alpha", d.Name)
		require.Equal(t, "1.0", d.Version)
		require.Equal(t, format.TypeWheel, d.Type)
		require.LessOrEqual(t, len(d.Metadata), int(fuzzLimits.Metadata))
		m, err := format.ParseMetadata(d.Metadata)
		require.NoError(t, err)
		require.Equal(t, d.RequiresPython, m.RequiresPython)
	})
}

// FuzzReadSdist does the same for alpha-1.0.tar.gz.
func FuzzReadSdist(f *testing.F) {
	_, good := pythontest.Spec{Name: "alpha", Version: "1.0"}.Sdist()
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := format.ReadDist(context.Background(), bytes.NewReader(data), int64(len(data)), "alpha-1.0.tar.gz", fuzzLimits)
		if err != nil {
			require.ErrorIs(t, err, format.ErrInvalid)
			return
		}
		require.Equal(t, "alpha", d.Name)
		require.Equal(t, "1.0", d.Version)
		require.LessOrEqual(t, len(d.Metadata), int(fuzzLimits.Metadata))
	})
}

// FuzzParseMetadata checks that parsed core metadata always holds a valid
// name and version.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nRequires-Python: >=3.7\n\nbody\n"))
	f.Add([]byte("Name: a\r\nVersion: 1\r\nRequires-Python: >=3,\r\n <4\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := format.ParseMetadata(data)
		if err != nil {
			require.ErrorIs(t, err, format.ErrInvalid)
			return
		}
		require.True(t, format.ValidName(m.Name), m.Name)
		_, err = format.NormalizeVersion(m.Version)
		require.NoError(t, err)
	})
}
