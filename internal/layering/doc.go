// Package layering holds tests of the module's structure: imports flow
// one way, down the layers of layers_test.go, and no exported function,
// method, field, variable or type of a package outside internal/ mentions
// a type of an internal/ package.
package layering
