package registry

// MaxUploadsPerRepo is exported for the tests.
const MaxUploadsPerRepo = maxUploadsPerRepo
