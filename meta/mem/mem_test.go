package mem_test

import (
	"testing"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/meta/metatest"
)

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return mem.New() })
}
