package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// An upstream publishing two files and their PULP_MANIFEST, synced into a
// repository, then once more without changes.
func ExampleManager_Sync() {
	ctx := context.Background()
	files := map[string]string{"docs/a.txt": "alpha\n", "docs/b.txt": "beta\n"}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/PULP_MANIFEST" {
			fmt.Fprint(w, manifestOf(map[string][]byte{"docs/a.txt": []byte(files["docs/a.txt"]), "docs/b.txt": []byte(files["docs/b.txt"])}))
			return
		}
		if body, ok := files[r.URL.Path[1:]]; ok {
			fmt.Fprint(w, body)
			return
		}
		http.NotFound(w, r)
	}))
	defer upstream.Close()

	dir, err := os.MkdirTemp("", "pkgvc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.OpenDir(ctx, dir, remoteall.Kinds())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.CreateRepo(ctx, "docs", repo.CreateOptions{}); err != nil {
		log.Fatal(err)
	}

	m := remote.New(st, remoteall.Syncers())
	if _, err := m.Create(ctx, remote.Remote{Name: "upstream", Kind: "file", URL: upstream.URL + "/PULP_MANIFEST"}); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		res, err := m.Sync(ctx, "upstream", "docs", remote.SyncOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("version %d changed=%v added=%d unchanged=%d downloaded=%d bytes\n",
			res.Version, res.Changed, res.Added, res.Unchanged, res.BytesDownloaded)
	}
	// Output:
	// version 1 changed=true added=2 unchanged=0 downloaded=11 bytes
	// version 1 changed=false added=0 unchanged=2 downloaded=0 bytes
}

// FetchBlob serves a record synced with the on_demand policy: it fetches
// the bytes from the upstream, verifies them and keeps them.
func ExampleManager_FetchBlob() {
	ctx := context.Background()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/PULP_MANIFEST":
			fmt.Fprint(w, manifestOf(map[string][]byte{"hello.txt": []byte("hello\n")}))
		case "/hello.txt":
			fmt.Fprint(w, "hello\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	dir, err := os.MkdirTemp("", "pkgvc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.OpenDir(ctx, dir, remoteall.Kinds())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.CreateRepo(ctx, "lazy", repo.CreateOptions{}); err != nil {
		log.Fatal(err)
	}
	m := remote.New(st, remoteall.Syncers())
	if _, err := m.Create(ctx, remote.Remote{Name: "up", Kind: "file", URL: upstream.URL + "/PULP_MANIFEST", Policy: remote.OnDemand}); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Sync(ctx, "up", "lazy", remote.SyncOptions{}); err != nil {
		log.Fatal(err)
	}
	rec, err := st.Stat(ctx, "lazy", "hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	stored, _ := st.Objects().HasBlob(ctx, rec.SHA256)
	fmt.Println("on demand:", repo.IsOnDemand(rec), "stored:", stored)

	var buf bytes.Buffer
	if err := m.FetchBlob(ctx, rec, &buf); err != nil {
		log.Fatal(err)
	}
	stored, _ = st.Objects().HasBlob(ctx, rec.SHA256)
	fmt.Printf("fetched %q, stored: %v\n", buf.String(), stored)
	// Output:
	// on demand: true stored: false
	// fetched "hello\n", stored: true
}
