package repo

// ErrReservedPath reports a package path where a publication writes a file
// of its own, such as PULP_MANIFEST in a file repository.
var ErrReservedPath = wrap("reserved package path", ErrInvalid)

// PathChecker is an optional capability of a Kind: CheckPath refuses
// package paths that a repository of the kind can't hold, such as those its
// publication generates. Commit calls it for every record it adds, from a
// file or by digest.
type PathChecker interface {
	CheckPath(path string) error
}

// checkRecord checks a record already in a version as commit checked it
// when it joined: its path, and its digest if k names content by digest.
func checkRecord(k Kind, rec Record) error {
	if err := checkPath(k, rec.Path); err != nil {
		return err
	}
	return checkDigest(k, rec.Path, rec.SHA256, rec.Metadata)
}

// checkPath asks k about path if k is a PathChecker; other kinds accept
// every valid path.
func checkPath(k Kind, path string) error {
	if pc, ok := k.(PathChecker); ok {
		return pc.CheckPath(path)
	}
	return nil
}
