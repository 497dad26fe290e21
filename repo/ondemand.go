package repo

// Metadata keys of records synced with the on_demand policy: the version
// holds the record, and its bytes are fetched from the remote's URL when
// first needed (by serve, cat or checkout).
const (
	MetaRemote = "pkgvc.remote"
	MetaURL    = "pkgvc.url"
)

// IsOnDemand reports whether a record's bytes may be fetched from a remote
// rather than be in the store.
func IsOnDemand(r Record) bool { return r.Metadata[MetaURL] != "" }
