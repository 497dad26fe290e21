package tasks

import (
	"encoding/json"
	"time"
)

// Task states.
const (
	Queued    = "queued"
	Running   = "running"
	Completed = "completed"
	Failed    = "failed"
	Canceled  = "canceled"
)

// Request is an operation to run as a task: Op is "sync", "gc",
// "fsck", "reflog-expire" (more may come); Args are its command-line arguments, e.g.
// ["REMOTE", "REPO", "--mirror"] for a sync.
type Request struct {
	Op   string   `json:"op"`
	Args []string `json:"args,omitempty"`
}

// Progress is how far a running task is; Total 0 means unknown.
type Progress struct {
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
	Unit  string `json:"unit,omitempty"` // "bytes", "files", ...
}

// Task is one long operation.
type Task struct {
	ID       string    `json:"id"`
	Request  Request   `json:"request"`
	State    string    `json:"state"`
	Repo     string    `json:"repo,omitempty"` // tasks on one repository run one at a time
	Schedule string    `json:"schedule,omitempty"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Progress Progress  `json:"progress"`
	Log      []string  `json:"log,omitempty"`
	Error    string    `json:"error,omitempty"`
	// ErrorCode is a failed task's error as a machine-readable code, the
	// one the REST API answers for the same error (not_found, invalid,
	// ...), so that a client can match it as it matches the local error.
	ErrorCode string `json:"error_code,omitempty"`
	// Result is the operation's JSON result (a remote.SyncResult for a
	// sync, a repo.GCResult for gc, ...), also when it failed.
	Result json.RawMessage `json:"result,omitempty"`
	By     string          `json:"by,omitempty"` // the token or user that asked
}

// Done reports whether t has finished.
func (t *Task) Done() bool {
	return t.State == Completed || t.State == Failed || t.State == Canceled
}

// Schedule runs a task request at times given by a cron expression.
type Schedule struct {
	Name    string    `json:"name"`
	Cron    string    `json:"cron"` // standard 5-field cron, or @daily etc.
	Request Request   `json:"request"`
	Created time.Time `json:"created"`
	// LastRun and LastTask are the latest run started.
	LastRun  time.Time `json:"last_run,omitzero"`
	LastTask string    `json:"last_task,omitempty"`
	Next     time.Time `json:"next,omitzero"`
}
