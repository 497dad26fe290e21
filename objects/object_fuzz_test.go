package objects

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeObject(f *testing.F) {
	s := New(nil)
	for _, seed := range [][]byte{
		nil,
		{objectRaw},
		{objectZstd},
		{7, 1, 2},
		encodeObject(s.objectEnc, []byte("tree a b c")),
		encodeObject(s.objectEnc, bytes.Repeat([]byte("entry name mode id\n"), 50)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stored []byte) {
		data, err := decodeObject(s.objectDec, stored)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// Whatever decodes must survive a re-encode round trip.
		again, err := decodeObject(s.objectDec, encodeObject(s.objectEnc, data))
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
