package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/flock"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Served returns the version distribution name serves now.
func (c *Client) Served(ctx context.Context, name string) (*api.Served, error) {
	var out api.Served
	return ptr(&out, c.do(ctx, http.MethodGet, "/distributions/"+esc(name)+"/served", nil, nil, &out))
}

// ServedObject returns small object id of the tree of version, which
// distribution name must serve now; the bytes are checked against id.
func (c *Client) ServedObject(ctx context.Context, name string, version, id objects.ID) ([]byte, error) {
	req, err := c.request(ctx, http.MethodGet, "/distributions/"+esc(name)+"/objects/"+id.String(), url.Values{"version": {version.String()}}, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/octet-stream, application/json")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", id, err)
	}
	if len(data) > maxObjectBytes || objects.Sum(data) != id {
		return nil, fmt.Errorf("object %s: %w: the server sent other bytes", id, objects.ErrCorrupt)
	}
	return data, nil
}

// maxObjectBytes bounds a small object read from the server.
const maxObjectBytes = 64 << 20

// ServedContent opens the package at path in version, which distribution
// name must serve now, verified as it is read.
func (c *Client) ServedContent(ctx context.Context, name string, version objects.ID, path string) (io.ReadCloser, repo.Record, error) {
	return c.openPackage(ctx, "/distributions/"+esc(name)+"/content", url.Values{"version": {version.String()}, "path": {path}}, path)
}

// movedAttempts bounds how often a checkout starts again because the
// distribution moved to another version while it was copied.
const movedAttempts = 3

// Checkout writes what distribution name serves into dir on this machine,
// as a local checkout would on the server's: it copies the served
// version's tree objects and the packages it lacks into a store beside the
// checkout (dir.pkgvc/store), then checks out from there. Later checkouts
// download only what changed; packages the served version no longer holds
// leave that store.
func (c *Client) Checkout(ctx context.Context, name, dir string, o api.CheckoutOptions) (*checkout.Result, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	home, store := checkout.HomeDir(abs), checkout.ReplicaDir(abs)
	_, statErr := os.Lstat(home)
	made := errors.Is(statErr, fs.ErrNotExist)
	res, err := c.checkoutLocked(ctx, name, dir, abs, store, o)
	if fi, lerr := os.Lstat(abs); made && err != nil && (lerr != nil || fi.Mode()&fs.ModeSymlink == 0) {
		_ = os.RemoveAll(home) // dir does not link into it: leave nothing behind
	}
	return res, err
}

// checkoutLocked copies and checks out under the copy's lock. Errors
// read as a local checkout's: a distribution that is not there as such,
// the rest as "checkout NAME into DIR: ...".
func (c *Client) checkoutLocked(ctx context.Context, name, dir, abs, store string, o api.CheckoutOptions) (*checkout.Result, error) {
	sv, err := c.Served(ctx, name)
	if err != nil {
		return nil, err
	}
	res, err := c.copyAndCheckout(ctx, sv, abs, store, o)
	if err != nil {
		return res, fmt.Errorf("checkout %s into %s: %w", name, dir, err)
	}
	return res, nil
}

func (c *Client) copyAndCheckout(ctx context.Context, sv *api.Served, dir, store string, o api.CheckoutOptions) (*checkout.Result, error) {
	if err := os.MkdirAll(store, 0o755); err != nil {
		return nil, err
	}
	// One copy into dir at a time: pruning must not race another's copy.
	lf, err := os.OpenFile(filepath.Join(store, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	if err := flock.Lock(ctx, lf); err != nil {
		return nil, err
	}
	defer func() { _ = flock.Unlock(lf) }()
	if c.kinds == nil || c.publishers == nil {
		return nil, errors.New("checkout needs the content kinds: build the client with WithKinds")
	}
	rep, err := fsstore.OpenReplica(store, c.kinds)
	if err != nil {
		return nil, err
	}
	// Under the lock no other copy runs: temporary files are a killed one's.
	if _, err := rep.Objects().CleanTemp(ctx, time.Now()); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		res, err := c.checkoutOnce(ctx, rep, sv, dir, o)
		if !errors.Is(err, dist.ErrDistMoved) || attempt == movedAttempts {
			return res, err
		}
		if sv, err = c.Served(ctx, sv.Dist); err != nil {
			return nil, err
		}
	}
}

func (c *Client) checkoutOnce(ctx context.Context, rep *repo.Store, sv *api.Served, dir string, o api.CheckoutOptions) (*checkout.Result, error) {
	name, v := sv.Dist, sv.Version
	if err := c.copyTree(ctx, rep.Objects(), name, v); err != nil {
		return nil, fmt.Errorf("copy %s: %w", v, err)
	}
	keep, err := c.copyPackages(ctx, rep.Objects(), name, v)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", v, err)
	}
	res, err := checkout.Version(ctx, rep, sv.Kind, v, dir, checkout.Options{Publishers: c.publishers, Link: o.Link})
	if res != nil {
		res.Dist = name
	}
	if err != nil {
		return res, err
	}
	// The trees hold the packages now: the copy keeps the served
	// version's, which the next checkout does not download again.
	return res, prunePackages(ctx, rep.Objects(), keep)
}

// copyTree copies the tree objects of v the replica lacks. A tree object
// in the replica has its whole subtree there: objects are flushed deepest
// level first, so a copy cut short never holds a node without its
// children.
func (c *Client) copyTree(ctx context.Context, objs *objects.Store, name string, v *repo.Version) error {
	var levels []*objects.Batch
	defer func() {
		for _, b := range levels {
			b.Abort()
		}
	}()
	next := []objects.ID{v.Tree}
	for len(next) > 0 {
		var missing []objects.ID
		for _, id := range next {
			if id.IsZero() {
				continue // the empty tree is no object
			}
			has, err := objs.HasObject(ctx, id)
			if err != nil {
				return err
			}
			if !has {
				missing = append(missing, id)
			}
		}
		b := objs.NewBatch()
		levels = append(levels, b)
		children := make([][]objects.ID, len(missing))
		if err := parallel.Do(ctx, len(missing), copyWorkers, func(ctx context.Context, i int) error {
			data, err := c.ServedObject(ctx, name, v.ID, missing[i])
			if err != nil {
				return err
			}
			_, kids, err := tree.ReadNode(ctx, oneObject{missing[i], data}, missing[i])
			if err != nil {
				return err
			}
			children[i] = kids
			_, err = b.PutObject(ctx, data)
			return err
		}); err != nil {
			return err
		}
		next = next[:0]
		for _, kids := range children {
			next = append(next, kids...)
		}
	}
	for i := len(levels) - 1; i >= 0; i-- {
		if err := levels[i].Flush(ctx); err != nil {
			return err
		}
	}
	levels = nil
	return nil
}

// copyWorkers is how many objects or packages are downloaded at once.
const copyWorkers = 8

// oneObject is a tree.Getter of one object.
type oneObject struct {
	id   objects.ID
	data []byte
}

func (o oneObject) GetObject(_ context.Context, id objects.ID) ([]byte, error) {
	if id != o.id {
		return nil, fmt.Errorf("object %s: %w", id, objects.ErrNotFound)
	}
	return o.data, nil
}

// copyPackages downloads the packages of v the replica lacks, verified,
// and returns the blob ids v holds.
func (c *Client) copyPackages(ctx context.Context, objs *objects.Store, name string, v *repo.Version) (map[objects.ID]bool, error) {
	keep := map[objects.ID]bool{}
	var todo []tree.Entry
	if err := tree.Walk(ctx, objs, v.Tree, func(e tree.Entry) error {
		if keep[e.SHA256] {
			return nil
		}
		keep[e.SHA256] = true
		has, err := objs.HasBlob(ctx, e.SHA256)
		if err == nil && !has {
			todo = append(todo, e)
		}
		return err
	}); err != nil {
		return nil, err
	}
	b := objs.NewBatch()
	defer b.Abort()
	if err := parallel.Do(ctx, len(todo), copyWorkers, func(ctx context.Context, i int) error {
		e := todo[i]
		rc, _, err := c.ServedContent(ctx, name, v.ID, e.Path)
		if err != nil {
			return err
		}
		defer rc.Close()
		res, err := b.PutBlob(ctx, rc)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		if res.ID != e.SHA256 || res.Size != e.Size {
			return fmt.Errorf("%s: %w: got sha256 %s, %d bytes; the record says %s, %d", e.Path, objects.ErrCorrupt, res.ID, res.Size, e.SHA256, e.Size)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return keep, b.Flush(ctx)
}

// prunePackages deletes the replica's packages that are not in keep.
func prunePackages(ctx context.Context, objs *objects.Store, keep map[objects.ID]bool) error {
	var drop []objects.ID
	if err := objs.ListBlobs(ctx, func(id objects.ID, _ objects.Info) error {
		if !keep[id] {
			drop = append(drop, id)
		}
		return nil
	}); err != nil {
		return err
	}
	future := time.Now().Add(time.Hour) // whatever their age
	for _, id := range drop {
		if _, err := objs.DeleteBlob(ctx, id, future); err != nil && !errors.Is(err, objects.ErrNotFound) {
			return err
		}
	}
	return nil
}
