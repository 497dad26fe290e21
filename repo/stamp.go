package repo

// RefsWatch tells cheaply whether any ref or metadata document of a store
// may have changed, where the medium can tell (the local layout can: see
// package location/fsstore). A hot path such as the content server
// compares stamps instead of looking several refs up per request.
type RefsWatch interface {
	// Stamp reads the current stamp.
	Stamp() (RefsStamp, error)
	// Close releases the watch.
	Close() error
}

// RefsStamp identifies a state of a store's refs and documents, in the
// terms of the RefsWatch that read it: two equal stamps, read one after
// the other, mean nothing changed in between. Compare stamps only.
type RefsStamp struct {
	Refs [5]int64
	Meta string
}
