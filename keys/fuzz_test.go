package keys_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/meta/mem"
)

// Any bytes given to Import give a key or ErrInvalid, never a panic.
func FuzzImport(f *testing.F) {
	ctx := context.Background()
	src := keys.New(mem.New())
	if _, err := src.Generate(ctx, "ed", keys.TypeOpenPGP, keys.AlgoEd25519); err != nil {
		f.Fatal(err)
	}
	pub, err := src.Export(ctx, "ed")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pub)
	f.Add(pub[:len(pub)/2])
	f.Add([]byte("sum.example.com+12345678+AQIDBA=="))
	f.Add([]byte("PRIVATE+KEY+a+00000000+AQ=="))
	f.Add([]byte{0x99, 0x00, 0x0d, 0x04})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := keys.New(mem.New())
		k, err := s.Import(ctx, "k", data)
		if err != nil && !errors.Is(err, keys.ErrInvalid) {
			t.Fatalf("%q: %v", data, err)
		}
		if err == nil {
			if _, err := s.Export(ctx, k.Name); err != nil {
				t.Fatal(err)
			}
		}
	})
}
