package format_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

func ExampleReadDist() {
	name, wheel := pythontest.Spec{Name: "My_Pkg", Version: "1.0RC1", RequiresPython: ">=3.9"}.Wheel()
	d, err := format.ReadDist(context.Background(), bytes.NewReader(wheel), int64(len(wheel)), name, format.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Type, d.Name, d.Version, d.RequiresPython, d.MetadataPath)

	// A wheel whose METADATA names another project is refused.
	name, wheel = pythontest.Spec{Name: "gamma", Version: "1.0", MetaName: "delta"}.Wheel()
	_, err = format.ReadDist(context.Background(), bytes.NewReader(wheel), int64(len(wheel)), name, format.Limits{})
	fmt.Println(errors.Is(err, format.ErrMismatch))
	fmt.Println(err)
	// Output:
	// bdist_wheel my-pkg 1.0rc1 >=3.9 My_Pkg-1.0RC1.dist-info/METADATA
	// true
	// name or version disagrees with the file name: gamma-1.0.dist-info/METADATA gives Name "delta", the file name "gamma-1.0-py3-none-any.whl" names project "gamma"
}

func ExampleNormalizeName() {
	fmt.Println(format.NormalizeName("Foo__Bar.baz"))
	v, _ := format.NormalizeVersion("1.0-ALPHA.2")
	fmt.Println(v)
	// Output:
	// foo-bar-baz
	// 1.0a2
}
