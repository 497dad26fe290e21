package auth_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/meta"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// getHook runs a function once, right after a read of a token's hash
// document.
type getHook struct {
	meta.Store
	hook atomic.Pointer[func()]
}

func (m *getHook) Get(ctx context.Context, key string) ([]byte, meta.Rev, error) {
	v, rev, err := m.Store.Get(ctx, key)
	if strings.HasPrefix(key, "token-hashes/") {
		if h := m.hook.Swap(nil); h != nil {
			(*h)()
		}
	}
	return v, rev, err
}

// A token revoked while a request authenticates it is refused by the
// next request, not trusted from a cache filled with what was read
// before the revocation.
func TestRevokeDuringAuthenticate(t *testing.T) {
	ctx := context.Background()
	m := &getHook{Store: metamem.New()}
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(m))
	tokens := auth.New(st, auth.WithCacheTTL(time.Hour))
	_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: "ci", Scopes: scopes(t, "repo:*:read")})
	require.NoError(t, err)
	h := func() { require.NoError(t, tokens.Revoke(ctx, "ci")) }
	m.hook.Store(&h)
	_, _ = tokens.Authenticate(ctx, secret)
	require.Nil(t, m.hook.Load(), "the revocation ran")
	_, err = tokens.Authenticate(ctx, secret)
	require.ErrorIs(t, err, auth.ErrUnauthorized)
}
