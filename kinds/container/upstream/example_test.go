package upstream_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"

	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// A registry holding library/alpine:3, synced into a container
// repository, then once more without changes.
func Example() {
	ctx := context.Background()
	hub := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer hub.Close()
	host := strings.TrimPrefix(hub.URL, "http://")
	img, err := random.Image(1024, 2)
	if err != nil {
		log.Fatal(err)
	}
	tag, err := name.NewTag(host+"/library/alpine:3", name.Insecure)
	if err != nil {
		log.Fatal(err)
	}
	if err := ggcr.Write(tag, img); err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "pkgvc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.OpenDir(ctx, dir, repo.NewKinds(container.Kind{}))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.CreateRepo(ctx, "mirror", repo.CreateOptions{Kind: "container"}); err != nil {
		log.Fatal(err)
	}
	m := remote.New(st, remoteall.Syncers())
	// The repository on the registry is a container remote's setting.
	r := upstream.Options{UpstreamName: "library/alpine"}.With(remote.Remote{Name: "hub", Kind: "container", URL: hub.URL})
	if _, err := m.Create(ctx, r); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		res, err := m.Sync(ctx, "hub", "mirror", remote.SyncOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("changed %v: %d added, %d downloaded\n", res.Changed, res.Added, res.Downloaded)
	}
	// Output:
	// changed true: 5 added, 4 downloaded
	// changed false: 0 added, 0 downloaded
}
