package client

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// CreateRepo creates a repository.
func (c *Client) CreateRepo(ctx context.Context, name string, o repo.CreateOptions) (*repo.Config, error) {
	var out repo.Config
	err := c.do(ctx, http.MethodPost, "/repositories", nil, wire.CreateRepoBody{Name: name, Kind: o.Kind, Retain: o.Retain}, &out)
	return ptr(&out, err)
}

// ListRepos lists the repositories the token may read.
func (c *Client) ListRepos(ctx context.Context) ([]repo.RepoInfo, error) {
	return all[repo.RepoInfo](ctx, c, "/repositories", nil, 0)
}

// ShowRepo describes a repository.
func (c *Client) ShowRepo(ctx context.Context, name string) (*repo.RepoInfo, error) {
	var out repo.RepoInfo
	return ptr(&out, c.do(ctx, http.MethodGet, "/repositories/"+esc(name), nil, nil, &out))
}

// DeleteRepo deletes a repository.
func (c *Client) DeleteRepo(ctx context.Context, name string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	return c.do(ctx, http.MethodDelete, "/repositories/"+esc(name), q, nil, nil)
}

// Commit uploads the files req.Adds names, then makes the version with
// them as records, so the server sees the same request as a local commit.
func (c *Client) Commit(ctx context.Context, repoName string, req repo.CommitRequest) (*repo.CommitResult, error) {
	if len(req.Adds) > 0 {
		recs, err := c.uploadAdds(ctx, req.Adds, req.Progress)
		if err != nil {
			return nil, err
		}
		req.Records = append(recs, req.Records...)
		req.Adds = nil
	}
	var out repo.CommitResult
	err := c.do(ctx, http.MethodPost, "/repositories/"+esc(repoName)+"/commits", nil, wire.NewCommitBody(req), &out)
	return ptr(&out, err)
}

// Log lists rev's history, newest first; limit <= 0 lists all of it.
func (c *Client) Log(ctx context.Context, rev string, limit int) ([]repo.LogEntry, error) {
	return all[repo.LogEntry](ctx, c, "/revisions/"+esc(rev)+"/log", nil, limit)
}

// List lists the packages of rev by path.
func (c *Client) List(ctx context.Context, rev string) ([]repo.Record, error) {
	rs, _, err := c.ListPage(ctx, rev, repo.ListOptions{})
	return rs, err
}

// ListPage lists the packages of rev that o selects, by path, asking for
// as many pages as o.Limit takes (all when it is 0), and the path to pass
// as the next page's After when more remain.
func (c *Client) ListPage(ctx context.Context, rev string, o repo.ListOptions) ([]repo.Record, string, error) {
	q := url.Values{}
	if o.Prefix != "" {
		q.Set("prefix", o.Prefix)
	}
	if o.After != "" {
		q.Set("cursor", wire.EncodeCursor(o.After))
	}
	out := []repo.Record{}
	for {
		n := wire.MaxLimit
		if o.Limit > 0 {
			n = min(n, o.Limit-len(out))
		}
		q.Set("limit", strconv.Itoa(n))
		var pg wire.Page[repo.Record]
		if err := c.do(ctx, http.MethodGet, "/revisions/"+esc(rev)+"/packages", q, nil, &pg); err != nil {
			return nil, "", err
		}
		for i := range pg.Items {
			if len(pg.Items[i].Metadata) == 0 {
				pg.Items[i].Metadata = nil // sent as {} (the schema's metadata is an object), kept as nil
			}
		}
		out = append(out, pg.Items...)
		if pg.Next == "" {
			return out, "", nil
		}
		if o.Limit > 0 && len(out) >= o.Limit {
			next, err := wire.DecodeCursor(pg.Next)
			if err != nil {
				return nil, "", err
			}
			return out, next, nil
		}
		q.Set("cursor", pg.Next)
	}
}

// Reflog lists the moves of a repository's head, newest first.
func (c *Client) Reflog(ctx context.Context, name string) ([]repo.ReflogEntry, error) {
	return all[repo.ReflogEntry](ctx, c, "/repositories/"+esc(name)+"/reflog", nil, 0)
}

// Diff compares two revisions.
func (c *Client) Diff(ctx context.Context, from, to string) (*repo.DiffResult, error) {
	var out repo.DiffResult
	return ptr(&out, c.do(ctx, http.MethodGet, "/diff", url.Values{"from": {from}, "to": {to}}, nil, &out))
}

// DiffPackages compares two revisions package by package.
func (c *Client) DiffPackages(ctx context.Context, from, to string) (*repo.PackageDiff, error) {
	var out repo.PackageDiff
	return ptr(&out, c.do(ctx, http.MethodGet, "/diff/packages", url.Values{"from": {from}, "to": {to}}, nil, &out))
}

// Promote moves each destination to its source, all or none.
func (c *Client) Promote(ctx context.Context, pairs []repo.Pair, o repo.PromoteOptions) ([]repo.PromoteResult, error) {
	b := wire.PromoteBody{Force: o.Force, Only: o.Only}
	for _, p := range pairs {
		b.Pairs = append(b.Pairs, wire.PairBody{Src: p.Src, Dst: p.Dst})
	}
	var out []repo.PromoteResult
	if err := c.do(ctx, http.MethodPost, "/promote", nil, b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Rollback makes a version of repoName with rev's content.
func (c *Client) Rollback(ctx context.Context, repoName, rev string) (*repo.CommitResult, error) {
	var out repo.CommitResult
	err := c.do(ctx, http.MethodPost, "/repositories/"+esc(repoName)+"/rollback", nil, wire.RollbackBody{Rev: rev}, &out)
	return ptr(&out, err)
}

// RepoAction runs a content kind's action on a repository.
func (c *Client) RepoAction(ctx context.Context, repoName, kind, action string, req json.RawMessage) (*repo.CommitResult, error) {
	if len(req) == 0 {
		req = json.RawMessage("{}")
	}
	var out repo.CommitResult
	err := c.do(ctx, http.MethodPost, "/repositories/"+esc(repoName)+"/"+esc(kind)+"/"+esc(action), nil, req, &out)
	return ptr(&out, err)
}

// Cat streams a package. The reader checks the bytes against the digest
// the server announced and fails at the end (objects.ErrCorrupt) if they
// differ.
func (c *Client) Cat(ctx context.Context, rev, path string) (io.ReadCloser, repo.Record, error) {
	return c.openPackage(ctx, "/revisions/"+esc(rev)+"/content", url.Values{"path": {path}}, path)
}

// openPackage GETs the package at the API path apiPath with query q,
// verified against the digest the server announces as it is read.
func (c *Client) openPackage(ctx context.Context, apiPath string, q url.Values, path string) (io.ReadCloser, repo.Record, error) {
	req, err := c.request(ctx, http.MethodGet, apiPath, q, nil)
	if err != nil {
		return nil, repo.Record{}, err
	}
	req.Header.Set("Accept", "application/octet-stream, application/json")
	resp, err := c.send(req)
	if err != nil {
		return nil, repo.Record{}, err
	}
	rec := repo.Record{Path: path, Size: resp.ContentLength, Metadata: wire.DecodeMetadata(resp.Header.Get(wire.HeaderMetadata))}
	if rec.SHA256, err = objects.ParseID(resp.Header.Get(wire.HeaderSHA256)); err != nil {
		resp.Body.Close()
		return nil, rec, fmt.Errorf("cat %s: the server sent no valid %s header", path, wire.HeaderSHA256)
	}
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		rec.Size = n
	}
	return &verifyReader{rc: resp.Body, h: sha256.New(), want: rec.SHA256, path: path}, rec, nil
}

type verifyReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want objects.ID
	path string
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		var got objects.ID
		copy(got[:], v.h.Sum(nil))
		if got != v.want {
			return n, fmt.Errorf("%s: %w: sha256 %s, expected %s", v.path, objects.ErrCorrupt, got, v.want)
		}
	}
	return n, err
}

func (v *verifyReader) Close() error { return v.rc.Close() }

// CreateDist creates a distribution.
func (c *Client) CreateDist(ctx context.Context, name string, spec dist.DistSpec) (*dist.Distribution, error) {
	var out dist.Distribution
	return ptr(&out, c.do(ctx, http.MethodPost, "/distributions", nil, wire.NewDistBody(name, spec), &out))
}

// ListDists lists the distributions the token may read.
func (c *Client) ListDists(ctx context.Context) ([]dist.Distribution, error) {
	return all[dist.Distribution](ctx, c, "/distributions", nil, 0)
}

// ShowDist describes a distribution.
func (c *Client) ShowDist(ctx context.Context, name string) (*dist.Distribution, error) {
	var out dist.Distribution
	return ptr(&out, c.do(ctx, http.MethodGet, "/distributions/"+esc(name), nil, nil, &out))
}

// UpdateDist changes a distribution.
func (c *Client) UpdateDist(ctx context.Context, name string, spec dist.DistSpec) (*dist.Distribution, error) {
	var out dist.Distribution
	return ptr(&out, c.do(ctx, http.MethodPatch, "/distributions/"+esc(name), nil, wire.NewDistBody("", spec), &out))
}

// PruneDist drops what distribution name's settings say is due now.
func (c *Client) PruneDist(ctx context.Context, name string) (*dist.PruneResult, error) {
	var out dist.PruneResult
	return ptr(&out, c.do(ctx, http.MethodPost, "/distributions/"+esc(name)+"/prune", nil, nil, &out))
}

// DeleteDist deletes a distribution.
func (c *Client) DeleteDist(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/distributions/"+esc(name), nil, nil, nil)
}

// CreateRemote creates a remote.
func (c *Client) CreateRemote(ctx context.Context, r remote.Remote) (*remote.Remote, error) {
	var out remote.Remote
	return ptr(&out, c.do(ctx, http.MethodPost, "/remotes", nil, r, &out))
}

// ListRemotes lists the remotes the token may read.
func (c *Client) ListRemotes(ctx context.Context) ([]remote.Remote, error) {
	return all[remote.Remote](ctx, c, "/remotes", nil, 0)
}

// ShowRemote describes a remote.
func (c *Client) ShowRemote(ctx context.Context, name string) (*remote.Remote, error) {
	var out remote.Remote
	return ptr(&out, c.do(ctx, http.MethodGet, "/remotes/"+esc(name), nil, nil, &out))
}

// UpdateRemote changes some settings of a remote.
func (c *Client) UpdateRemote(ctx context.Context, name string, p api.RemotePatch) (*remote.Remote, error) {
	var out remote.Remote
	return ptr(&out, c.do(ctx, http.MethodPatch, "/remotes/"+esc(name), nil, p, &out))
}

// DeleteRemote deletes a remote, with force detaching the distributions
// that use it.
func (c *Client) DeleteRemote(ctx context.Context, name string, force bool) ([]string, error) {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	var out wire.RemoteDeleted
	if err := c.do(ctx, http.MethodDelete, "/remotes/"+esc(name), q, nil, &out); err != nil {
		return nil, err
	}
	return out.Detached, nil
}

// Sync runs a sync as a server task and waits for it, reporting its
// progress to o.Progress.
func (c *Client) Sync(ctx context.Context, remoteName, repoName string, o remote.SyncOptions) (*remote.SyncResult, error) {
	var t api.Task
	err := c.do(ctx, http.MethodPost, "/remotes/"+esc(remoteName)+"/sync", nil,
		wire.SyncBody{Repo: repoName, Mirror: o.Mirror, Message: o.Message}, &t)
	if err != nil {
		return nil, err
	}
	var progress func(*api.Task)
	if o.Progress != nil {
		progress = func(t *api.Task) {
			p := remote.SyncProgress{}
			switch t.Progress.Unit {
			case "files":
				p.Files, p.FilesTotal = int(t.Progress.Done), int(t.Progress.Total)
			case "bytes":
				p.Bytes, p.BytesTotal = t.Progress.Done, t.Progress.Total
			default:
				return // nothing reported yet (a queued task): a sync reports what it plans first
			}
			o.Progress(p)
		}
	}
	// A failed sync returns its result too, as remote.Manager.Sync does.
	var res remote.SyncResult
	ok, err := c.runTask(ctx, &t, progress, &res)
	if err != nil && ok {
		return &res, err
	}
	return ptr(&res, err)
}

// CreateToken makes a token and returns its secret.
func (c *Client) CreateToken(ctx context.Context, o api.TokenRequest) (*api.Token, string, error) {
	var out wire.TokenCreated
	if err := c.do(ctx, http.MethodPost, "/tokens", nil, wire.NewTokenBody(o), &out); err != nil {
		return nil, "", err
	}
	return &out.Token, out.Secret, nil
}

// ListTokens lists tokens.
func (c *Client) ListTokens(ctx context.Context) ([]api.Token, error) {
	return all[api.Token](ctx, c, "/tokens", nil, 0)
}

// GenerateKey makes a signing key on the server.
func (c *Client) GenerateKey(ctx context.Context, name, typ, algo string) (*api.Key, error) {
	var out api.Key
	err := c.do(ctx, http.MethodPost, "/keys", nil, wire.KeyBody{Name: name, Type: typ, Algo: algo}, &out)
	return ptr(&out, err)
}

// ImportKey sends key material to the server, which keeps it.
func (c *Client) ImportKey(ctx context.Context, name string, data []byte) (*api.Key, error) {
	var out api.Key
	err := c.do(ctx, http.MethodPut, "/keys/"+esc(name), nil, wire.KeyImportBody{Data: data}, &out)
	return ptr(&out, err)
}

// ExportKey returns the public part of a key.
func (c *Client) ExportKey(ctx context.Context, name string) ([]byte, error) {
	var out wire.KeyPublic
	if err := c.do(ctx, http.MethodGet, "/keys/"+esc(name)+"/public", nil, nil, &out); err != nil {
		return nil, err
	}
	return []byte(out.Public), nil
}

// ListKeys lists the signing keys.
func (c *Client) ListKeys(ctx context.Context) ([]api.Key, error) {
	return all[api.Key](ctx, c, "/keys", nil, 0)
}

// DeleteKey deletes a signing key.
func (c *Client) DeleteKey(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/keys/"+esc(name), nil, nil, nil)
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/tokens/"+esc(name), nil, nil, nil)
}

// CreateSchedule creates a schedule.
func (c *Client) CreateSchedule(ctx context.Context, s api.Schedule) (*api.Schedule, error) {
	var out api.Schedule
	err := c.do(ctx, http.MethodPost, "/schedules", nil, wire.ScheduleBody{Name: s.Name, Cron: s.Cron, Request: s.Request}, &out)
	return ptr(&out, err)
}

// ListSchedules lists schedules.
func (c *Client) ListSchedules(ctx context.Context) ([]api.Schedule, error) {
	return all[api.Schedule](ctx, c, "/schedules", nil, 0)
}

// DeleteSchedule deletes a schedule.
func (c *Client) DeleteSchedule(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/schedules/"+esc(name), nil, nil, nil)
}

// ReflogExpire deletes the reflog entries older than olderThan.
func (c *Client) ReflogExpire(ctx context.Context, olderThan time.Time) (*repo.ReflogExpireResult, error) {
	var out repo.ReflogExpireResult
	err := c.do(ctx, http.MethodPost, "/reflog/expire", nil, wire.ReflogExpireBody{OlderThan: olderThan}, &out)
	return ptr(&out, err)
}

// GC collects the store, as a server task.
func (c *Client) GC(ctx context.Context, o repo.GCOptions) (*repo.GCResult, error) {
	t, err := c.StartTask(ctx, wire.GCTask(o))
	if err != nil {
		return nil, err
	}
	var res repo.GCResult
	_, err = c.runTask(ctx, t, nil, &res)
	return ptr(&res, err)
}

// Fsck checks the store, as a server task. Problems found come back with
// the result and an error matching repo.ErrCorrupt.
func (c *Client) Fsck(ctx context.Context, o api.FsckOptions) (*repo.FsckResult, error) {
	t, err := c.StartTask(ctx, wire.FsckTask(o))
	if err != nil {
		return nil, err
	}
	var res repo.FsckResult
	_, err = c.runTask(ctx, t, nil, &res)
	if err != nil && len(res.Problems) > 0 {
		return &res, fmt.Errorf("%w: %w", repo.ErrCorrupt, err)
	}
	return ptr(&res, err)
}

// ptr returns v, or nil with err.
func ptr[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// decodeResult decodes a task's result, if it has one, into out and
// reports whether it did.
func decodeResult(t *api.Task, out any) (bool, error) {
	if len(t.Result) == 0 || string(t.Result) == "null" || out == nil {
		return false, nil
	}
	if err := json.Unmarshal(t.Result, out); err != nil {
		return false, fmt.Errorf("task %s: decode its result: %w", t.ID, err)
	}
	return true, nil
}
