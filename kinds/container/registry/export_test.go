package registry

// MaxUploadsPerRepo is exported for the tests.
const MaxUploadsPerRepo = maxUploadsPerRepo

// SetBeforeBlobDeleteCommit makes fn run when a blob DELETE has decided
// to remove a record and is about to commit, for the tests of what a
// writer does meanwhile; the returned func restores the default.
func SetBeforeBlobDeleteCommit(fn func()) func() {
	beforeBlobDeleteCommit = fn
	return func() { beforeBlobDeleteCommit = func() {} }
}
