package container

// SetBeforePruneCommit runs f between each prune's plan and its commit.
func SetBeforePruneCommit(f func()) { testBeforePruneCommit = f }
