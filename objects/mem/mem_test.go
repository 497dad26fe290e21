package mem_test

import (
	"testing"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/objects/objectstest"
)

func TestConformance(t *testing.T) {
	objectstest.Run(t, func(*testing.T) objects.Backend { return mem.New() })
}
