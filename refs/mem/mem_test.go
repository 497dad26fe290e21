package mem_test

import (
	"testing"

	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/refs/refstest"
)

func TestBackend(t *testing.T) {
	refstest.Run(t, func(t *testing.T) refs.Backend { return mem.New() })
}
