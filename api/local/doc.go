// Package local implements api.Service over a store in this process: each
// method delegates to repo.Store, dist.Dists, remote.Manager or
// auth.Store. Tasks and schedules come from an api.Tasks and an
// api.Schedules set with options; without them their methods fail with
// ErrNoTasks.
package local
