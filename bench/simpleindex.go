//go:build ignore

// simpleindex serves a generated PEP 691 simple index for bench/syncmem.sh:
// PROJECTS projects of FILES wheels each, with sha256, size and
// requires-python, made on the fly. A file's digest depends on the
// generation written in GENFILE for one file in 10, so a benchmark can
// change that many files between syncs.
//
//	go run bench/simpleindex.go ADDR PROJECTS FILES GENFILE
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	addr := os.Args[1]
	np, _ := strconv.Atoi(os.Args[2])
	nf, _ := strconv.Atoi(os.Args[3])
	genFile := os.Args[4]
	const ct = "application/vnd.pypi.simple.v1+json"
	digest := func(name, gen string) string {
		h := fnv.New32a()
		h.Write([]byte(name))
		if h.Sum32()%10 != 0 {
			gen = ""
		}
		s := sha256.Sum256([]byte(name + gen))
		return hex.EncodeToString(s[:])
	}
	type file struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		Size           int               `json:"size"`
		RequiresPython string            `json:"requires-python"`
		UploadTime     string            `json:"upload-time"`
	}
	http.HandleFunc("/simple/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		if p == "" {
			type proj struct {
				Name string `json:"name"`
			}
			ps := make([]proj, np)
			for i := range ps {
				ps[i].Name = fmt.Sprintf("proj%05d", i)
			}
			json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.0"}, "projects": ps})
			return
		}
		g, _ := os.ReadFile(genFile)
		gen := strings.TrimSpace(string(g))
		files := make([]file, nf)
		for v := range files {
			fn := fmt.Sprintf("%s-1.%d-py3-none-any.whl", p, v)
			files[v] = file{Filename: fn, URL: "/files/" + p + "/" + fn, Hashes: map[string]string{"sha256": digest(fn, gen)},
				Size: 1000 + v, RequiresPython: ">=3.8", UploadTime: "2024-01-02T03:04:05Z"}
		}
		json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": p, "files": files})
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
