// Package api is what pkgvc does, as one set of interfaces with two
// implementations: api/local works on a store directory in this process,
// api/client talks to a `pkgvc serve` over its REST API (/api/v1/). The
// CLI holds a Service and does not know which one; api/server exposes any
// Service over HTTP.
//
// Types are the library's own (repo, dist, checkout, remote, auth, keys, tasks), so a result
// decoded from the API is the value the local call returns.
package api

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/tasks"
)

// Service is everything a store offers.
type Service interface {
	Repositories
	Versions
	Blobs
	Distributions
	Replication
	Remotes
	Tokens
	Keys
	Tasks
	Schedules
	Maintenance
	KindActions
	// Close releases what the Service holds.
	Close() error
}

// Repositories creates, lists, shows and deletes repositories.
type Repositories interface {
	CreateRepo(ctx context.Context, name string, o repo.CreateOptions) (*repo.Config, error)
	ListRepos(ctx context.Context) ([]repo.RepoInfo, error)
	ShowRepo(ctx context.Context, name string) (*repo.RepoInfo, error)
	// DeleteRepo refuses while distributions follow the repository,
	// unless force.
	DeleteRepo(ctx context.Context, name string, force bool) error
}

// Versions reads and makes versions.
type Versions interface {
	// Commit makes a new version. Adds name local files: the API client
	// uploads each (see Blobs) and commits them by digest; Records name
	// blobs already in the store.
	Commit(ctx context.Context, repoName string, req repo.CommitRequest) (*repo.CommitResult, error)
	Log(ctx context.Context, rev string, limit int) ([]repo.LogEntry, error)
	List(ctx context.Context, rev string) ([]repo.Record, error)
	// ListPage lists, by path, the records of rev that o selects (a path
	// prefix, a page after a path, a limit), and the path to pass as the
	// next page's After when more remain; its cost follows the page.
	ListPage(ctx context.Context, rev string, o repo.ListOptions) ([]repo.Record, string, error)
	Cat(ctx context.Context, rev, path string) (io.ReadCloser, repo.Record, error)
	Reflog(ctx context.Context, name string) ([]repo.ReflogEntry, error)
	Diff(ctx context.Context, from, to string) (*repo.DiffResult, error)
	// DiffPackages compares two revisions package by package (python
	// projects, container tags; else paths).
	DiffPackages(ctx context.Context, from, to string) (*repo.PackageDiff, error)
	Promote(ctx context.Context, pairs []repo.Pair, o repo.PromoteOptions) ([]repo.PromoteResult, error)
	Rollback(ctx context.Context, repoName, rev string) (*repo.CommitResult, error)
}

// Blobs stores package files by content.
type Blobs interface {
	// PutBlob stores size bytes of r (size < 0: unknown) and returns
	// their sha256; when want is not zero a different digest is an
	// error and nothing is kept. Large uploads through the API are sent
	// in chunks and resume after a dropped connection.
	PutBlob(ctx context.Context, r io.Reader, size int64, want objects.ID) (objects.ID, error)
}

// Distributions manages distributions.
type Distributions interface {
	CreateDist(ctx context.Context, name string, spec dist.DistSpec) (*dist.Distribution, error)
	ListDists(ctx context.Context) ([]dist.Distribution, error)
	ShowDist(ctx context.Context, name string) (*dist.Distribution, error)
	UpdateDist(ctx context.Context, name string, spec dist.DistSpec) (*dist.Distribution, error)
	DeleteDist(ctx context.Context, name string) error
	// PruneDist drops from the repository distribution name follows what
	// the distribution's settings say is due (a container cache's images
	// not pulled within retain_unpulled), as one new version; gc then
	// frees the bytes (see dist.Dists.Prune).
	PruneDist(ctx context.Context, name string) (*dist.PruneResult, error)
}

// Served is the version a distribution serves now.
type Served struct {
	Dist    string        `json:"dist"`
	Kind    string        `json:"kind"`
	Version *repo.Version `json:"version"`
}

// Replication reads exactly what a distribution serves, so that a copy
// elsewhere (a checkout through a server) holds the same files. The
// object and content reads name the version the caller is copying: while
// the distribution serves another, they fail with dist.ErrDistMoved
// and the copy starts again from Served.
type Replication interface {
	// Served returns the version distribution name serves now.
	Served(ctx context.Context, name string) (*Served, error)
	// ServedObject returns small object id, a node of version's tree.
	ServedObject(ctx context.Context, name string, version, id objects.ID) ([]byte, error)
	// ServedContent opens the package at path in version, verified as it
	// is read (fetched from its remote first if it was synced on demand).
	ServedContent(ctx context.Context, name string, version objects.ID, path string) (io.ReadCloser, repo.Record, error)
	// Checkout writes what distribution name serves into dir as plain
	// files (see checkout.Dist); through a server, dir is on
	// this machine and only what changed since the last checkout into it
	// is downloaded.
	Checkout(ctx context.Context, name, dir string, o CheckoutOptions) (*checkout.Result, error)
}

// CheckoutOptions changes how Checkout writes files.
type CheckoutOptions struct {
	// Link hard-links packages from the store instead of cloning or
	// copying them (see checkout.Options.Link and its risk).
	Link bool
}

// RemotePatch changes some settings of a remote; nil fields stay.
type RemotePatch = remote.Patch

// Remotes manages remotes and syncs from them.
type Remotes interface {
	CreateRemote(ctx context.Context, r remote.Remote) (*remote.Remote, error)
	ListRemotes(ctx context.Context) ([]remote.Remote, error)
	ShowRemote(ctx context.Context, name string) (*remote.Remote, error)
	UpdateRemote(ctx context.Context, name string, p RemotePatch) (*remote.Remote, error)
	// DeleteRemote deletes a remote, refusing while distributions pull
	// through it unless force, which detaches them (they stop pulling
	// through); it returns the distributions that were detached.
	DeleteRemote(ctx context.Context, name string, force bool) ([]string, error)
	// Sync runs a sync and waits for it (through the API: as a task,
	// reporting its progress).
	Sync(ctx context.Context, remoteName, repoName string, o remote.SyncOptions) (*remote.SyncResult, error)
}

// Token is an access token's public part; the secret is shown once.
type Token = auth.Token

// TokenRequest asks for a new token.
type TokenRequest = auth.CreateOptions

// Tokens manages access tokens.
type Tokens interface {
	// CreateToken returns the token and its secret.
	CreateToken(ctx context.Context, o TokenRequest) (*Token, string, error)
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, name string) error
}

// Key describes a signing key; it never holds secret material.
type Key = keys.Key

// Keys manages the store's signing keys (see package keys). Private parts
// go in, by generation or import, and never come out: through a server,
// only their owner's process reads them.
type Keys interface {
	// GenerateKey makes a key: typ keys.TypeOpenPGP (when empty) or
	// keys.TypeSumDB; algo keys.AlgoRSA4096 or keys.AlgoEd25519 (empty:
	// the type's default).
	GenerateKey(ctx context.Context, name, typ, algo string) (*Key, error)
	// ImportKey stores key material (see keys.Store.Import).
	ImportKey(ctx context.Context, name string, data []byte) (*Key, error)
	// ExportKey returns the public part of a key.
	ExportKey(ctx context.Context, name string) ([]byte, error)
	ListKeys(ctx context.Context) ([]Key, error)
	DeleteKey(ctx context.Context, name string) error
}

// Task states.
const (
	TaskQueued    = tasks.Queued
	TaskRunning   = tasks.Running
	TaskCompleted = tasks.Completed
	TaskFailed    = tasks.Failed
	TaskCanceled  = tasks.Canceled
)

// TaskRequest is an operation to run as a task (see tasks.Request).
type TaskRequest = tasks.Request

// Progress is how far a running task is; Total 0 means unknown.
type Progress = tasks.Progress

// Task is one long operation.
type Task = tasks.Task

// Tasks runs long operations.
type Tasks interface {
	// StartTask queues an operation and returns at once.
	StartTask(ctx context.Context, req TaskRequest) (*Task, error)
	ListTasks(ctx context.Context) ([]Task, error)
	ShowTask(ctx context.Context, id string) (*Task, error)
	// WaitTask returns when the task is done (or ctx ends), calling
	// progress, when set, as it advances.
	WaitTask(ctx context.Context, id string, progress func(*Task)) (*Task, error)
	CancelTask(ctx context.Context, id string) (*Task, error)
}

// Schedule runs a task request at times given by a cron expression.
type Schedule = tasks.Schedule

// Schedules manages schedules; `pkgvc serve` runs them.
type Schedules interface {
	CreateSchedule(ctx context.Context, s Schedule) (*Schedule, error)
	ListSchedules(ctx context.Context) ([]Schedule, error)
	DeleteSchedule(ctx context.Context, name string) error
}

// KindActions runs the operations content kinds define on their
// repositories (repo.Actor), such as the python kind's "yank", which
// marks a file yanked (PEP 592).
type KindActions interface {
	// RepoAction runs action of content kind kind on repository
	// repoName with JSON request req, in at most one new version. An
	// action the kind does not have is repo.ErrNotFound.
	RepoAction(ctx context.Context, repoName, kind, action string, req json.RawMessage) (*repo.CommitResult, error)
}

// Maintenance checks and collects the store.
type Maintenance interface {
	GC(ctx context.Context, o repo.GCOptions) (*repo.GCResult, error)
	Fsck(ctx context.Context, o FsckOptions) (*repo.FsckResult, error)
	// ReflogExpire deletes the reflog entries older than olderThan, of
	// every ref (see repo.Store.ExpireReflog): gc then collects what only
	// they kept.
	ReflogExpire(ctx context.Context, olderThan time.Time) (*repo.ReflogExpireResult, error)
}

// FsckOptions changes what Fsck does.
type FsckOptions struct {
	// Repair fetches damaged or missing blobs again from the remotes that
	// offer them (remote.Manager.Repair), then checks again.
	Repair bool
}
