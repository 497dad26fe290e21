package content

import "testing"

// The cached-blob path of every GET compares sizes: it must not allocate.
func TestSizeIs(t *testing.T) {
	size := []string{"123456789"}
	if !sizeIs(size, 123456789) || sizeIs(size, 12345678) || sizeIs(nil, 0) {
		t.Fatal("sizeIs compares wrongly")
	}
	if n := testing.AllocsPerRun(100, func() { sizeIs(size, 123456789) }); n != 0 {
		t.Fatalf("sizeIs allocates %v times a call", n)
	}
}
