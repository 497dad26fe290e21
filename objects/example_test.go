package objects_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/objects/mem"
)

func ExampleStore() {
	ctx := context.Background()
	s := objects.New(mem.New())

	b := s.NewBatch()
	res, err := b.PutBlob(ctx, strings.NewReader("package contents"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Flush(ctx); err != nil {
		fmt.Println(err)
		return
	}

	rc, err := s.OpenBlob(ctx, res.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.ID.String()[:12], res.New, string(data))
	// Output: b9e2b98ba957 true package contents
}
