package refs_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/refs/mem"
)

// Promote moves a "stable" ref to whatever "testing" points at, but only
// if neither moved since they were read: a retry loop around one
// compare-and-swap transaction.
func Example() {
	ctx := context.Background()
	b := mem.New()
	v1, v2 := objects.Sum([]byte("v1")), objects.Sum([]byte("v2"))

	err := b.Apply(ctx, refs.Txn{
		Updates: []refs.Update{{Name: "dists/testing", New: v2}, {Name: "dists/stable", New: v1}},
		Who:     "ci", Action: "init",
	})
	if err != nil {
		panic(err)
	}

	for {
		testing, err := b.Get(ctx, "dists/testing")
		if err != nil {
			panic(err)
		}
		stable, err := b.Get(ctx, "dists/stable")
		if err != nil {
			panic(err)
		}
		err = b.Apply(ctx, refs.Txn{
			Updates: []refs.Update{
				{Name: "dists/testing", Old: testing, New: testing}, // check only
				{Name: "dists/stable", Old: stable, New: testing},
			},
			Who: "release-manager", Action: "promote",
		})
		if errors.Is(err, refs.ErrConflict) {
			continue // someone moved a ref: read again
		}
		if err != nil {
			panic(err)
		}
		break
	}

	err = b.List(ctx, "dists/", func(name string, id objects.ID) error {
		fmt.Println(name, id == v2)
		return nil
	})
	if err != nil {
		panic(err)
	}
	err = b.Log(ctx, "dists/stable", func(e refs.Entry) error {
		fmt.Println(e.Action, e.Who)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// dists/stable true
	// dists/testing true
	// init ci
	// promote release-manager
}
