package main

import (
	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/kinds/all"
)

// dialServer opens the API client of the pkgvc server --server names.
func dialServer(url, token string) (api.Service, error) {
	return client.New(url, token, client.WithKinds(all.Kinds(), all.Publishers()))
}
