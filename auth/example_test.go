package auth_test

import (
	"fmt"

	"github.com/pkgvc/pkgvc/auth"
)

func ExampleParseScope() {
	s, err := auth.ParseScope("dist:web-*:write")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Allows(auth.KindDist, "web-1", auth.Read))
	fmt.Println(s.Allows(auth.KindDist, "web-1", auth.Admin))
	fmt.Println(s.Allows(auth.KindRepo, "web-1", auth.Read))
	// Output:
	// true
	// false
	// false
}
