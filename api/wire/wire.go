// Package wire holds what the REST API's client and server both speak:
// the request and response bodies that are not the library's own types,
// the paths, headers and cursors, and the error codes. api/client and
// api/server both import it and neither imports the other.
package wire

import (
	"encoding/base64"
	"net/url"
	"time"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// Prefix is the path every API route starts with.
const Prefix = "/api/v1"

// Page is one page of a list.
type Page[T any] struct {
	Items []T `json:"items" nullable:"false"`
	// Next is the cursor of the next page; empty on the last one.
	Next string `json:"next,omitempty" doc:"Cursor of the next page (pass as ?cursor=); absent on the last page."`
}

// Page sizes.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// CreateRepoBody creates a repository.
type CreateRepoBody struct {
	Name   string `json:"name" minLength:"1"`
	Kind   string `json:"kind,omitempty" doc:"Content kind (file, python, ...); file by default."`
	Retain int    `json:"retain,omitempty" minimum:"0" doc:"Keep this many versions; 0 keeps all."`
}

// RecordBody names a stored blob to commit at a path. The server inspects
// the blob as its repository's content kind requires and records the
// metadata the kind reads from it; of Metadata only the on-demand
// provenance (pkgvc.remote and pkgvc.url) is kept.
type RecordBody struct {
	Path     string            `json:"path" minLength:"1"`
	SHA256   objects.ID        `json:"sha256"`
	Size     int64             `json:"size" minimum:"0"`
	Metadata map[string]string `json:"metadata,omitempty" doc:"Ignored but for pkgvc.remote and pkgvc.url: the server reads a package's metadata from its blob."`
}

// CommitBody makes a version from uploaded blobs and removals.
type CommitBody struct {
	Records    []RecordBody `json:"records,omitempty"`
	Removes    []string     `json:"removes,omitempty"`
	Message    string       `json:"message,omitempty"`
	Author     string       `json:"author,omitempty"`
	AllowEmpty bool         `json:"allow_empty,omitempty"`
	NoReplace  bool         `json:"no_replace,omitempty"`
	// Options are the commit-time options of the repository's kind.
	Options map[string]string `json:"options,omitempty" doc:"Commit-time options the repository's content kind declares (e.g. a component)."`
}

// Record is the repository record rb describes.
func (rb RecordBody) Record() repo.Record {
	return repo.Record{Path: rb.Path, SHA256: rb.SHA256, Size: rb.Size, Metadata: rb.Metadata}
}

// NewCommitBody is the body of a commit request; Adds must have been
// uploaded and turned into Records by the caller.
func NewCommitBody(req repo.CommitRequest) CommitBody {
	b := CommitBody{Removes: req.Removes, Message: req.Message, Author: req.Author, AllowEmpty: req.AllowEmpty, NoReplace: req.NoReplace, Options: req.Options}
	for _, r := range req.Records {
		b.Records = append(b.Records, RecordBody{Path: r.Path, SHA256: r.SHA256, Size: r.Size, Metadata: r.Metadata})
	}
	return b
}

// PairBody is one promotion.
type PairBody struct {
	Src string `json:"src" minLength:"1" doc:"A revision, usually a repository name."`
	Dst string `json:"dst" minLength:"1" doc:"A repository name."`
}

// PromoteBody promotes one or more pairs atomically.
type PromoteBody struct {
	Pairs []PairBody `json:"pairs" minItems:"1"`
	Force bool       `json:"force,omitempty"`
	Only  []string   `json:"only,omitempty"`
}

// RollbackBody names the revision whose content a new version takes.
type RollbackBody struct {
	Rev string `json:"rev" minLength:"1"`
}

// YankBody marks a python package yanked (PEP 592), or clears the mark.
type YankBody struct {
	File   string `json:"file" minLength:"1" doc:"The package's path in the repository, or its file name."`
	Reason string `json:"reason,omitempty" doc:"Shown to users of the yanked file; yanking again only changes it."`
	Unyank bool   `json:"unyank,omitempty" doc:"Clear the mark and its reason instead."`
}

// DistBody creates or changes a distribution; in a change, absent fields
// keep their value.
type DistBody struct {
	Name     string `json:"name,omitempty" doc:"Only when creating."`
	BasePath string `json:"base_path,omitempty"`
	Repo     string `json:"repo,omitempty" doc:"Follow this repository's latest version, or"`
	Version  string `json:"version,omitempty" doc:"pin this revision."`
	Remote   string `json:"remote,omitempty"`
	Private  *bool  `json:"private,omitempty"`
}

// Spec is the distribution spec b gives.
func (b DistBody) Spec() dist.DistSpec {
	return dist.DistSpec{BasePath: b.BasePath, Repo: b.Repo, Version: b.Version, Remote: b.Remote, Private: b.Private}
}

// NewDistBody encodes a distribution spec.
func NewDistBody(name string, sp dist.DistSpec) DistBody {
	return DistBody{Name: name, BasePath: sp.BasePath, Repo: sp.Repo, Version: sp.Version, Remote: sp.Remote, Private: sp.Private}
}

// RemoteDeleted answers the delete of a remote.
type RemoteDeleted struct {
	Name string `json:"name"`
	// Detached are the distributions that pulled through it and no
	// longer do (with force).
	Detached []string `json:"detached"`
}

// SyncBody syncs a remote into a repository, as a task.
type SyncBody struct {
	Repo    string `json:"repo" minLength:"1"`
	Mirror  bool   `json:"mirror,omitempty"`
	Message string `json:"message,omitempty"`
}

// SyncTask is the task request of a sync.
func SyncTask(remoteName, repoName string, mirror bool, message string) api.TaskRequest {
	args := []string{remoteName, repoName}
	if mirror {
		args = append(args, "--mirror")
	}
	if message != "" {
		args = append(args, "--message", message)
	}
	return api.TaskRequest{Op: "sync", Args: args}
}

// ScheduleBody creates a schedule.
type ScheduleBody struct {
	Name    string          `json:"name" minLength:"1"`
	Cron    string          `json:"cron" minLength:"1"`
	Request api.TaskRequest `json:"request"`
}

// ReflogExpireBody asks to delete the reflog entries older than a time.
type ReflogExpireBody struct {
	OlderThan time.Time `json:"older_than" doc:"Entries stamped before this time (RFC 3339) go."`
}

// TokenBody creates a token.
type TokenBody struct {
	Name       string   `json:"name,omitempty"`
	Scopes     []string `json:"scopes" minItems:"1" doc:"KIND:GLOB:LEVEL, e.g. repo:dev:write."`
	TTLSeconds int64    `json:"ttl_seconds,omitempty" minimum:"0" maximum:"3153600000" doc:"Lifetime, up to 100 years; 0 never expires."`
}

// NewTokenBody encodes o.
func NewTokenBody(o api.TokenRequest) TokenBody {
	b := TokenBody{Name: o.Name, TTLSeconds: int64(o.TTL / time.Second)}
	for _, s := range o.Scopes {
		b.Scopes = append(b.Scopes, s.String())
	}
	return b
}

// TokenRequest decodes b.
func (b TokenBody) TokenRequest() (api.TokenRequest, error) {
	o := api.TokenRequest{Name: b.Name}
	// Multiplying first would overflow into a negative or zero lifetime.
	if b.TTLSeconds < 0 || b.TTLSeconds > int64(auth.MaxTTL/time.Second) {
		return o, invalidf("invalid ttl_seconds %d: give 0 (never expires) up to %d (100 years)", b.TTLSeconds, int64(auth.MaxTTL/time.Second))
	}
	o.TTL = time.Duration(b.TTLSeconds) * time.Second
	for _, s := range b.Scopes {
		sc, err := auth.ParseScope(s)
		if err != nil {
			return o, err
		}
		o.Scopes = append(o.Scopes, sc)
	}
	return o, nil
}

// TokenCreated is a new token and its secret, shown once.
type TokenCreated struct {
	Token  api.Token `json:"token"`
	Secret string    `json:"secret"`
}

// Upload is the state of a chunked upload.
type Upload struct {
	ID string `json:"id"`
	// Offset is how many bytes the server holds: the next chunk starts there.
	Offset  int64     `json:"offset"`
	Expires time.Time `json:"expires" doc:"When the server drops the upload if it sees no more chunks."`
}

// FinishBody completes an upload.
type FinishBody struct {
	SHA256 objects.ID `json:"sha256" doc:"Expected sha256 of the whole upload; a different one drops it."`
	Size   *int64     `json:"size,omitempty" minimum:"0" doc:"Expected size."`
}

// Blob is a stored blob.
type Blob struct {
	SHA256 objects.ID `json:"sha256"`
	Size   int64      `json:"size"`
}

// Header names of the API.
const (
	// HeaderUploadOffset carries an upload's offset.
	HeaderUploadOffset = "Upload-Offset"
	// HeaderSHA256 and HeaderMetadata describe the package a content
	// response streams: its digest and its record's metadata (a URL query
	// string).
	HeaderSHA256   = "Pkgvc-Sha256"
	HeaderMetadata = "Pkgvc-Metadata"
)

// EncodeMetadata encodes record metadata for HeaderMetadata.
func EncodeMetadata(m map[string]string) string {
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v.Encode()
}

// DecodeMetadata decodes HeaderMetadata; none is nil.
func DecodeMetadata(s string) map[string]string {
	v, _ := url.ParseQuery(s)
	if len(v) == 0 {
		return nil
	}
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

// EncodeCursor is the cursor of the page that starts after the item
// whose key (a path, a name, an offset) is key.
func EncodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// DecodeCursor returns the key a cursor names; its error wraps
// repo.ErrInvalid.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", invalidf("invalid cursor %q", c)
	}
	return string(b), nil
}

// GCTask is the task request of a collection: a negative Grace (no
// grace) is sent as --grace 0s, a zero one (the default) not at all.
func GCTask(o repo.GCOptions) api.TaskRequest {
	var args []string
	switch {
	case o.Grace < 0:
		args = append(args, "--grace", "0s") // no grace: what --grace 0s means
	case o.Grace > 0:
		args = append(args, "--grace", o.Grace.String())
	}
	if o.DryRun {
		args = append(args, "--dry-run")
	}
	return api.TaskRequest{Op: "gc", Args: args}
}

// FsckTask is the task request of a store check.
func FsckTask(o api.FsckOptions) api.TaskRequest {
	if o.Repair {
		return api.TaskRequest{Op: "fsck", Args: []string{"--repair"}}
	}
	return api.TaskRequest{Op: "fsck"}
}

// KeyBody generates a key.
type KeyBody struct {
	Name string `json:"name" minLength:"1"`
	Type string `json:"type,omitempty" doc:"openpgp (default) or sumdb."`
	Algo string `json:"algo,omitempty" doc:"rsa4096 (OpenPGP's default) or ed25519."`
}

// KeyImportBody imports key material.
type KeyImportBody struct {
	Data []byte `json:"data" doc:"An OpenPGP public or secret key (armored or binary, without a passphrase) or a sumdb verifier or signer key line."`
}

// KeyPublic is the public part of a key.
type KeyPublic struct {
	Name   string `json:"name"`
	Public string `json:"public" doc:"An armored OpenPGP public key block, or a sumdb verifier key line."`
}
