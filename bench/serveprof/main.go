package main

import (
	"context"
	"flag"
	"net/http"
	_ "net/http/pprof"
	"os"

	"github.com/pkgvc/pkgvc/publish"
	puball "github.com/pkgvc/pkgvc/publish/all"
	"github.com/pkgvc/pkgvc/publish/httplog"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/all"
)

func main() {
	store := flag.String("store", "", "")
	addr := flag.String("listen", "127.0.0.1:18083", "")
	nolog := flag.Bool("nolog", false, "")
	flag.Parse()
	ctx := context.Background()
	st, err := repo.OpenDir(ctx, *store, all.Kinds())
	if err != nil {
		panic(err)
	}
	go http.ListenAndServe("127.0.0.1:6060", nil)
	var opts []publish.ServerOption
	if os.Getenv("NOWATCH") == "" {
		w, _ := repo.WatchRefs(*store)
		opts = append(opts, publish.WithRefsWatch(w))
	}
	srv := publish.NewServer(st, publish.NewDists(st), publish.NewPublications(st, puball.Registry(), 16), opts...)
	var h http.Handler = srv
	if !*nolog {
		f, _ := os.Create("/tmp/nb/prof-access.log")
		h = httplog.New(f).Middleware(srv)
	}
	publish.ListenAndServe(ctx, *addr, h, nil, nil)
}
