// Package file is the "file" content kind: any file, no metadata, as in
// Pulp's file plugin.
package file

import (
	"context"
	"io"
)

// Kind accepts every file.
type Kind struct{}

// Name returns "file".
func (Kind) Name() string { return "file" }

// Inspect accepts the file as it is; plain files carry no metadata.
func (Kind) Inspect(context.Context, string, io.ReaderAt, int64) (map[string]string, error) {
	return nil, nil
}
