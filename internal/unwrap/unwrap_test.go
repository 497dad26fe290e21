package unwrap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/unwrap"
)

type thing interface{ Name() string }

type leaf struct{}

func (leaf) Name() string { return "leaf" }
func (leaf) Special() int { return 42 }

type wrapper struct{ inner thing }

func (w wrapper) Name() string  { return "wrapper" }
func (w wrapper) Unwrap() thing { return w.inner }

type special interface{ Special() int }

func TestAs(t *testing.T) {
	s, ok := unwrap.As[special, thing](wrapper{wrapper{leaf{}}})
	require.True(t, ok, "found through two wrappers")
	require.Equal(t, 42, s.Special())

	_, ok = unwrap.As[special, thing](wrapper{nil})
	require.False(t, ok, "a wrapper of nothing has nothing")
	_, ok = unwrap.As[special, thing](nil)
	require.False(t, ok)

	w, ok := unwrap.As[wrapper, thing](wrapper{leaf{}})
	require.True(t, ok, "the outermost value itself counts")
	require.Equal(t, "wrapper", w.Name())
}
