package repo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

// exampleStore opens a store in a new temporary directory with a fixed
// clock and author, so that the output does not vary. The caller removes
// the returned directory.
func exampleStore(ctx context.Context) (*repo.Store, string, error) {
	dir, err := os.MkdirTemp("", "pkgvc-example-")
	if err != nil {
		return nil, "", err
	}
	fixed := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := fsstore.OpenDir(ctx, filepath.Join(dir, "store"), all.Kinds(),
		repo.WithClock(func() time.Time { return fixed }), repo.WithWho("alice"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return s, dir, nil
}

// exampleFiles writes name→content files under dir.
func exampleFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func ExampleStore_Commit() {
	ctx := context.Background()
	s, dir, err := exampleStore(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	if _, err := s.CreateRepo(ctx, "dev", repo.CreateOptions{Kind: "file"}); err != nil {
		fmt.Println(err)
		return
	}

	// Commit a whole directory: every file lands at its path relative to it.
	src := filepath.Join(dir, "src")
	if err := exampleFiles(src, map[string]string{"a.txt": "alpha\n", "sub/b.txt": "beta\n"}); err != nil {
		fmt.Println(err)
		return
	}
	adds, err := repo.ParseAdd(src)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Commit(ctx, "dev", repo.CommitRequest{Adds: adds, Message: "import"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("version", res.Version, "changed", res.Changed)

	// Replace one file and remove another in a second version.
	if err := exampleFiles(src, map[string]string{"a.txt": "alpha 2\n"}); err != nil {
		fmt.Println(err)
		return
	}
	adds, err = repo.ParseAdd(filepath.Join(src, "a.txt") + "=a.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.Commit(ctx, "dev", repo.CommitRequest{Adds: adds, Removes: []string{"sub/"}, Message: "update a, drop sub"}); err != nil {
		fmt.Println(err)
		return
	}

	log, err := s.Log(ctx, "dev", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range log {
		fmt.Printf("%s %s %s: %s\n", &v.Version, v.Time.Format(time.DateOnly), v.Author, v.Message)
	}
	recs, err := s.List(ctx, "dev@1")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Println(r.Path, r.Size)
	}
	// Output:
	// version 1 changed true
	// dev@2 2024-05-01 alice: update a, drop sub
	// dev@1 2024-05-01 alice: import
	// a.txt 6
	// sub/b.txt 5
}

func ExampleStore_Diff() {
	ctx := context.Background()
	s, dir, err := exampleStore(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if _, err := s.CreateRepo(ctx, "dev", repo.CreateOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	commit := func(files map[string]string, removes ...string) error {
		src, err := os.MkdirTemp(dir, "src-")
		if err != nil {
			return err
		}
		if err := exampleFiles(src, files); err != nil {
			return err
		}
		adds, err := repo.ParseAdd(src)
		if err != nil {
			return err
		}
		_, err = s.Commit(ctx, "dev", repo.CommitRequest{Adds: adds, Removes: removes})
		return err
	}
	if err := commit(map[string]string{"keep.txt": "same", "old.txt": "going", "pkg.whl": "v1"}); err != nil {
		fmt.Println(err)
		return
	}
	if err := commit(map[string]string{"new.txt": "coming", "pkg.whl": "v2"}, "old.txt"); err != nil {
		fmt.Println(err)
		return
	}

	d, err := s.Diff(ctx, "dev@1", "dev")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("added:", d.Added)
	fmt.Println("removed:", d.Removed)
	fmt.Println("changed:", d.Changed)
	// Output:
	// added: [new.txt]
	// removed: [old.txt]
	// changed: [pkg.whl]
}

func ExampleStore_Promote() {
	ctx := context.Background()
	s, dir, err := exampleStore(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"dev", "test", "prod"} {
		if _, err := s.CreateRepo(ctx, name, repo.CreateOptions{}); err != nil {
			fmt.Println(err)
			return
		}
	}
	n := 0
	commit := func() error {
		n++
		src := filepath.Join(dir, fmt.Sprintf("pkg-%d.txt", n))
		if err := os.WriteFile(src, []byte(fmt.Sprintf("package %d\n", n)), 0o644); err != nil {
			return err
		}
		adds, err := repo.ParseAdd(src)
		if err != nil {
			return err
		}
		_, err = s.Commit(ctx, "dev", repo.CommitRequest{Adds: adds})
		return err
	}
	show := func(rs []repo.PromoteResult) {
		for _, r := range rs {
			fmt.Printf("%s -> %s: %s, version %d, moved %v\n", r.Src, r.Dst, r.Mode, r.Version, r.Moved)
		}
	}

	for range 2 {
		if err := commit(); err != nil {
			fmt.Println(err)
			return
		}
	}
	// dev -> test: test has no versions yet, so this is a fast-forward.
	rs, err := s.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	show(rs)

	if err := commit(); err != nil {
		fmt.Println(err)
		return
	}
	// Both pairs are judged against the heads before either moves: prod
	// receives test's old head (version 2), test receives dev's (version 3).
	rs, err = s.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "test"}, {Src: "test", Dst: "prod"}}, repo.PromoteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	show(rs)
	// Output:
	// dev -> test: fast-forward, version 2, moved true
	// dev -> test: fast-forward, version 3, moved true
	// test -> prod: fast-forward, version 2, moved true
}
