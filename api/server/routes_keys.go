package server

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/internal/auth"
)

// KeyBody generates a key.
type KeyBody struct {
	Name string `json:"name" minLength:"1"`
	Type string `json:"type,omitempty" doc:"openpgp (default) or sumdb."`
	Algo string `json:"algo,omitempty" doc:"rsa4096 (OpenPGP's default) or ed25519."`
}

// KeyImportBody imports key material.
type KeyImportBody struct {
	Data []byte `json:"data" doc:"An OpenPGP public or secret key (armored or binary, without a passphrase) or a sumdb verifier or signer key line."`
}

// KeyPublic is the public part of a key.
type KeyPublic struct {
	Name   string `json:"name"`
	Public string `json:"public" doc:"An armored OpenPGP public key block, or a sumdb verifier key line."`
}

// keyRoutes serve the store's signing keys: every one needs *:*:admin,
// and none returns a private part.
func (s *Server) keyRoutes() {
	a := s.api
	admin := func(ctx context.Context) error { return needAll(ctx, auth.KindAny, auth.Admin) }
	huma.Register(a, op(http.MethodGet, "/keys", "list-keys", "List signing keys, never their private parts (*:*:admin)", "keys"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[api.Key], error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			all, err := s.svc.ListKeys(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			return page("/keys", in.PageParams, all, func(k api.Key) string { return k.Name }, true, nil)
		})

	gen := op(http.MethodPost, "/keys", "generate-key", "Generate a signing key (*:*:admin)", "keys")
	gen.DefaultStatus = http.StatusCreated
	huma.Register(a, gen, func(ctx context.Context, in *struct{ Body KeyBody }) (*bodyOutput[*api.Key], error) {
		if err := admin(ctx); err != nil {
			return nil, err
		}
		return body(s.svc.GenerateKey(ctx, in.Body.Name, in.Body.Type, in.Body.Algo))
	})

	imp := op(http.MethodPut, "/keys/{name}", "import-key", "Import a signing key, or a public key to verify with (*:*:admin)", "keys")
	imp.DefaultStatus = http.StatusCreated
	huma.Register(a, imp, func(ctx context.Context, in *struct {
		Name string `path:"name"`
		Body KeyImportBody
	}) (*bodyOutput[*api.Key], error) {
		if err := admin(ctx); err != nil {
			return nil, err
		}
		return body(s.svc.ImportKey(ctx, in.Name, in.Body.Data))
	})

	huma.Register(a, op(http.MethodGet, "/keys/{name}/public", "export-key", "The public part of a signing key (*:*:admin)", "keys"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[KeyPublic], error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			pub, err := s.svc.ExportKey(ctx, in.Name)
			if err != nil {
				return nil, apiError(err)
			}
			return &bodyOutput[KeyPublic]{Body: KeyPublic{Name: in.Name, Public: string(pub)}}, nil
		})

	huma.Register(a, op(http.MethodDelete, "/keys/{name}", "delete-key", "Delete a signing key (*:*:admin)", "keys"),
		func(ctx context.Context, in *nameInput) (*emptyOutput, error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.DeleteKey(ctx, in.Name))
		})
}
