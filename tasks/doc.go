// Package tasks runs long operations (sync, gc, fsck) as tasks and fires
// them on cron schedules.
//
// # Model
//
// A task is a document with an id, a state (queued, running, completed,
// failed, canceled), its progress, the last lines of its log and its
// result. A schedule is a document with a cron expression and the task
// request it starts. Both live in a Backend, a small key-value store with
// compare-and-swap over several keys at once; MetaBackend keeps them in a
// repo.Store's metadata store (package meta) under "tasks/", "schedules/"
// and "task-locks", so every process sharing a store sees the same tasks,
// and no progress update grows the refs log.
//
// Service (api/local's api.Tasks and api.Schedules) validates requests
// against a Registry of operations and queues tasks, whether or not a
// Runner is working in this process. A Runner (started by `pkgvc serve`)
// claims queued tasks, runs them and fires due schedules.
//
// # Concurrency
//
// A claim moves a task from queued to running and adds it to the lock
// document in one transaction, so two processes never run one task and
// the lock rules hold across processes: tasks on one repository run one at
// a time, an exclusive task (gc) runs alone, and queued tasks start in
// order of their ids, a blocked task holding back later ones that
// conflict with it. Each process runs at most RunnerConfig.Workers tasks.
//
// A running task carries its owner and a lease the owner renews. A task
// whose lease ran out belongs to a process that is gone: any Runner marks
// it failed ("interrupted: the server stopped") and releases its locks. A
// Runner that stops cleanly marks its running tasks so at once. Re-running
// such a task is safe: a sync keeps every download it had verified.
//
// Progress and log lines are written at most every RunnerConfig.Flush, and
// state changes at once; the log keeps its last MaxLogLines lines.
//
// # Schedules
//
// A due schedule starts its task and records the due time in the same
// transaction, so with several Runners only one starts it. If the
// schedule's previous task is still queued or running the due time is
// skipped, not queued behind it. A due time missed while no Runner ran
// starts one run when a Runner next looks.
package tasks
