package remote

import (
	"context"
	"fmt"
	"sort"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// RepairResult says which damaged or missing blobs Repair fetched again,
// and which it could not, each as "PATH (SHA256)" and, for those it could
// not, why.
type RepairResult struct {
	Repaired   []string `json:"repaired"`
	Unrepaired []string `json:"unrepaired"`
}

// Repair fetches the blobs of recs (damaged or missing ones, as fsck
// finds) from upstream again, storing them over the damaged copies: a
// record synced on demand from the URL it records, any other from the
// first remote whose upstream index lists its digest (every remote is
// asked, an index once). What it stores is verified as a sync's downloads
// are. A blob no remote offers is reported in Unrepaired, to be committed
// again by hand.
func (m *Manager) Repair(ctx context.Context, recs []repo.Record) (*RepairResult, error) {
	res := &RepairResult{Repaired: []string{}, Unrepaired: []string{}}
	want := map[objects.ID]repo.Record{}
	why := map[objects.ID]string{}
	name := func(r repo.Record) string { return fmt.Sprintf("%s (%s)", r.Path, r.SHA256) }
	for _, r := range recs {
		if _, ok := want[r.SHA256]; ok {
			continue
		}
		if !repo.IsOnDemand(r) {
			want[r.SHA256] = r
			continue
		}
		p := Package{Path: r.Path, URL: r.Metadata[repo.MetaURL], SHA256: r.SHA256, Size: r.Size}
		if err := m.refetch(ctx, r.Metadata[repo.MetaRemote], p); err != nil {
			want[r.SHA256], why[r.SHA256] = r, fmt.Sprintf("from %s: %v", p.URL, err)
			continue
		}
		res.Repaired = append(res.Repaired, name(r))
	}
	if len(want) > 0 {
		remotes, err := m.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, rem := range remotes {
			if len(want) == 0 {
				break
			}
			if err := m.repairFrom(ctx, rem.Name, want, why, func(r repo.Record) { res.Repaired = append(res.Repaired, name(r)) }); err != nil {
				for id := range want {
					if why[id] == "" {
						why[id] = fmt.Sprintf("remote %s: %v", rem.Name, err)
					}
				}
			}
		}
	}
	for id, r := range want {
		reason := why[id]
		if reason == "" {
			reason = "no remote offers it; commit the file again"
		}
		res.Unrepaired = append(res.Unrepaired, name(r)+": "+reason)
	}
	sort.Strings(res.Repaired)
	sort.Strings(res.Unrepaired)
	return res, nil
}

// repairFrom reads the index of remote name and fetches the wanted blobs
// it lists, removing them from want and calling done for each.
func (m *Manager) repairFrom(ctx context.Context, name string, want map[objects.ID]repo.Record, why map[objects.ID]string, done func(repo.Record)) error {
	r, doc, err := m.load(ctx, name)
	if err != nil {
		return err
	}
	syncer, err := m.reg.Lookup(r.Kind)
	if err != nil {
		return err
	}
	c, err := m.client(r, doc)
	if err != nil {
		return err
	}
	up := Upstream{Remote: *r, Client: c, KnownSize: m.knownSize, OpenStored: m.st.Objects().OpenBlob}
	pkgs, err := syncer.Index(ctx, up)
	if err != nil {
		return fmt.Errorf("read upstream index %s: %w", r.URL, err)
	}
	open := packageOpener(syncer, up)
	for _, p := range pkgs {
		rec, ok := want[p.SHA256]
		if !ok || (p.Size != rec.Size && p.Data == nil) {
			continue
		}
		b, err := m.download(ctx, open, p, nil, nil)
		if err == nil {
			if err = b.Flush(ctx); err != nil {
				b.Abort()
			}
		}
		if err != nil {
			why[p.SHA256] = fmt.Sprintf("remote %s: %s: %v", r.Name, p.URL, err)
			continue
		}
		m.blobsStored(p.SHA256)
		delete(want, p.SHA256)
		delete(why, p.SHA256)
		done(rec)
	}
	return nil
}

// refetch downloads package p from remote name and stores it.
func (m *Manager) refetch(ctx context.Context, name string, p Package) error {
	r, doc, err := m.load(ctx, name)
	if err != nil {
		return err
	}
	c, err := m.client(r, doc)
	if err != nil {
		return err
	}
	syncer, _ := m.reg.Lookup(r.Kind) // an unknown kind reads with a plain GET
	open := packageOpener(syncer, Upstream{Remote: *r, Client: c, KnownSize: m.knownSize, OpenStored: m.st.Objects().OpenBlob})
	b, err := m.download(ctx, open, p, nil, nil)
	if err != nil {
		return err
	}
	if err := b.Flush(ctx); err != nil {
		b.Abort()
		return err
	}
	m.blobsStored(p.SHA256)
	return nil
}
