// Command checkoutprof is a scratch profiler for checkout (not committed).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/publish/all"
	"github.com/pkgvc/pkgvc/repo"
	kinds "github.com/pkgvc/pkgvc/repo/kinds/all"
)

func main() {
	dir := flag.String("dir", "/tmp/ckprof", "work dir")
	n := flag.Int("n", 100000, "files")
	prof := flag.String("prof", "", "cpu profile")
	workers := flag.Int("workers", 0, "workers")
	flag.Parse()
	ctx := context.Background()
	st, err := repo.OpenDir(ctx, filepath.Join(*dir, "store"), kinds.Kinds())
	if err != nil {
		log.Fatal(err)
	}
	ds := publish.NewDists(st)
	if _, err := ds.Get(ctx, "d"); err != nil {
		if _, err := st.CreateRepo(ctx, "r", repo.CreateOptions{}); err != nil {
			log.Fatal(err)
		}
		b := st.Objects().NewBatch()
		var recs []repo.Record
		for i := 0; i < *n; i++ {
			var data []byte
			var name string
			if i%2 == 1 {
				data = make([]byte, 200+i%500)
				rand.Read(data)
				name = fmt.Sprintf("d%03d/f%06d.bin", i%1000, i)
			} else {
				data = bytes.Repeat([]byte(fmt.Sprintf("package %d ", i)), 60)
				name = fmt.Sprintf("d%03d/f%06d.txt", i%1000, i)
			}
			res, err := b.PutBlob(ctx, bytes.NewReader(data))
			if err != nil {
				log.Fatal(err)
			}
			recs = append(recs, repo.Record{Path: name, SHA256: res.ID, Size: res.Size})
		}
		if err := b.Flush(ctx); err != nil {
			log.Fatal(err)
		}
		if _, err := st.Commit(ctx, "r", repo.CommitRequest{Records: recs}); err != nil {
			log.Fatal(err)
		}
		if _, err := ds.Create(ctx, "d", publish.DistSpec{BasePath: "d", Repo: "r"}); err != nil {
			log.Fatal(err)
		}
		log.Printf("store ready")
	}
	if *prof != "" {
		f, _ := os.Create(*prof)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	out := filepath.Join(*dir, "www", "d")
	t0 := time.Now()
	res, err := ds.Checkout(ctx, "d", out, publish.CheckoutOptions{Publishers: all.Registry(), Workers: *workers})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("checkout: %v written=%d linked=%d standby=%d uptodate=%v", time.Since(t0), res.Written, res.Linked, res.Standby, res.UpToDate)
	t0 = time.Now()
	v, _ := st.Resolve(ctx, "r")
	pub, _ := all.Registry().Lookup("file")
	pub.Publish(ctx, st, v)
	log.Printf("publish alone: %v", time.Since(t0))
}
