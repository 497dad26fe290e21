package registry

// MaxUploadsPerRepo is exported for the tests.
const MaxUploadsPerRepo = maxUploadsPerRepo

// SetBeforeDeleteCommit makes fn run when a blob or manifest DELETE has
// decided what to remove and is about to commit, for the tests of what a
// writer does meanwhile; the returned func restores the default.
func SetBeforeDeleteCommit(fn func()) func() {
	beforeDeleteCommit = fn
	return func() { beforeDeleteCommit = func() {} }
}
