package publication

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// The chunks of a bucket, one per architecture whose index lists a
// package of it, are one blob (few files: a store writes each blob on its
// own): for each architecture in turn, the plain text, its gzip member
// and its xz stream. The state record's metadata locates them, by
// architecture: "<offset> <plain size> <gz size> <xz size> <plain SHA-256>".

// part locates an architecture's chunk in a bucket's blob.
type part struct {
	off, plain, gz, xz int
	sum                string
}

func (p part) String() string {
	return fmt.Sprintf("%d %d %d %d %s", p.off, p.plain, p.gz, p.xz, p.sum)
}

func parsePart(s string) (part, bool) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return part{}, false
	}
	var n [4]int
	for i := range n {
		v, err := strconv.Atoi(f[i])
		if err != nil || v < 0 {
			return part{}, false
		}
		n[i] = v
	}
	return part{n[0], n[1], n[2], n[3], f[4]}, true
}

// slices returns the plain, gz and xz chunks of p in data.
func (p part) slices(data []byte) (plain, gz, xzs []byte, err error) {
	end := p.off + p.plain + p.gz + p.xz
	if end > len(data) {
		return nil, nil, nil, fmt.Errorf("chunk beyond its blob (%d > %d bytes)", end, len(data))
	}
	a, b := p.off+p.plain, p.off+p.plain+p.gz
	return data[p.off:a], data[a:b], data[b:end], nil
}

func chunkKey(comp, bk string) string { return chunkPrefix + comp + "/" + bk }

// chunkWrite is a bucket's new chunks: e nil removes them.
type chunkWrite struct {
	key  string
	e    *tree.Entry
	data []byte
}

// bucketChunks computes the chunks of bucket bk of comp from the
// packages recorded, and the architectures whose chunk changed (none: w
// is not to be written).
func (b *builder) bucketChunks(snap objects.ID, comp, bk string) (w chunkWrite, changed []string, err error) {
	archs := b.s.Architectures
	plains := make([]bytes.Buffer, len(archs))
	err = tree.Prefix(b.ctx, b.w.Getter(), snap, pkgPrefix+comp+"/"+bk+"/", func(e tree.Entry) error {
		p := pkgFromState(&e)
		for i, a := range archs {
			if listedIn(p.arch, a) {
				p.stanza(&plains[i])
			}
		}
		return nil
	})
	if err != nil {
		return w, nil, err
	}
	w.key = chunkKey(comp, bk)
	old, had, err := tree.Get(b.ctx, b.w.Getter(), snap, w.key)
	if err != nil {
		return w, nil, err
	}
	sums := make([]string, len(archs))
	empty := true
	for i, a := range archs {
		if plains[i].Len() > 0 {
			id := objects.Sum(plains[i].Bytes())
			sums[i] = id.String()
			empty = false
		}
		var was string
		if had {
			if op, ok := parsePart(old.Metadata[a]); ok {
				was = op.sum
			}
		}
		if was != sums[i] {
			changed = append(changed, a)
		}
	}
	if len(changed) == 0 || empty {
		return w, changed, nil
	}
	var data []byte
	meta := map[string]string{}
	for i, a := range archs {
		if sums[i] == "" {
			continue
		}
		c, err := compress(plains[i].Bytes())
		if err != nil {
			return w, nil, err
		}
		meta[a] = part{off: len(data), plain: len(c.plain), gz: len(c.gz), xz: len(c.xz), sum: sums[i]}.String()
		data = append(append(append(data, c.plain...), c.gz...), c.xz...)
	}
	w.data = data
	w.e = &tree.Entry{Path: w.key, SHA256: objects.Sum(data), Size: int64(len(data)), Metadata: meta}
	return w, changed, nil
}

// putChunk writes a bucket's chunks; keep keeps them in memory, to be
// read back.
func (b *builder) putChunk(c chunkWrite, keep bool) error {
	if c.e == nil {
		return b.w.Remove(c.key)
	}
	if err := b.w.Put(chunkTemp, "", c.data); err != nil {
		return err
	}
	if err := b.w.Remove(chunkTemp); err != nil {
		return err
	}
	if keep {
		b.mem[c.e.SHA256] = c.data
	}
	return b.w.SetPrivate(*c.e)
}

// streamChunk writes a bucket's chunks as a blob without recording
// anything (see finish).
func (b *builder) streamChunk(c chunkWrite) error {
	fw, err := b.w.Create(chunkTemp, "")
	if err != nil {
		return err
	}
	if _, err := fw.Write(c.data); err != nil {
		fw.Abort(err)
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	if id, _ := fw.Blob(); id != c.e.SHA256 {
		return fmt.Errorf("chunk blob %s, expected %s", id, c.e.SHA256)
	}
	b.tempUsed = true
	return nil
}

// finish writes the chunks of the touched buckets, the indexes whose
// chunks changed (all of them when whole), and the Release.
func (b *builder) finish(whole bool) error {
	changed := map[string]map[string]bool{} // component -> architectures
	mark := func(comp, arch string) {
		if changed[comp] == nil {
			changed[comp] = map[string]bool{}
		}
		changed[comp][arch] = true
	}
	// Packages are read from the tree as it is now: the chunks written
	// meanwhile need not be applied to it at each read.
	snap, err := b.w.Root()
	if err != nil {
		return err
	}
	for _, comp := range b.s.Components {
		if whole {
			// One pass over the buckets, each chunk written to the
			// indexes as it comes: what is held is one bucket.
			// Nothing is recorded while the indexes stream: a record can
			// make the writer store its batch, which files still being
			// written go to.
			var recs []tree.Entry
			err = b.indexes(comp, b.s.Architectures, func(fn func(tree.Entry, []byte) error) error {
				for _, bk := range sortedKeys(b.touched[comp]) {
					w, _, err := b.bucketChunks(snap, comp, bk)
					if err != nil || w.e == nil {
						return err
					}
					if err := b.streamChunk(w); err != nil {
						return err
					}
					recs = append(recs, *w.e)
					if err := fn(*w.e, w.data); err != nil {
						return err
					}
				}
				return nil
			})
			for _, e := range recs {
				if err != nil {
					break
				}
				err = b.w.SetPrivate(e)
			}
			if err != nil {
				return err
			}
			continue
		}
		for _, bk := range sortedKeys(b.touched[comp]) {
			w, ch, err := b.bucketChunks(snap, comp, bk)
			if err != nil {
				return err
			}
			if len(ch) > 0 {
				if err := b.putChunk(w, true); err != nil {
					return err
				}
			}
			for _, a := range ch {
				mark(comp, a)
			}
		}
		var archs []string
		for _, a := range b.s.Architectures {
			if changed[comp][a] {
				archs = append(archs, a)
			}
		}
		if len(archs) == 0 {
			continue
		}
		err := b.indexes(comp, archs, func(fn func(tree.Entry, []byte) error) error {
			return b.w.Prefix(chunkPrefix+comp+"/", func(e tree.Entry) error { return fn(e, nil) })
		})
		if err != nil {
			return err
		}
	}
	files, err := b.listed()
	if err != nil {
		return err
	}
	if err := b.expire(files); err != nil {
		return err
	}
	return b.release(files)
}

// hashedFile is an index being written, its checksums computed.
type hashedFile struct {
	fw       *publish.FileWriter
	md5, sh1 hash.Hash
}

func (h *hashedFile) Write(p []byte) (int, error) {
	h.md5.Write(p)
	h.sh1.Write(p)
	return h.fw.Write(p)
}

// archIndex is the index of an architecture being written.
type archIndex struct {
	arch string
	outs [3]*hashedFile // Packages, .gz, .xz
	xj   *xzJoiner
	n    int
}

// indexes writes the indexes of comp for archs, the chunks chunks
// yields (each bucket's state record, and its blob unless it is to be
// read) concatenated in one pass, and their by-hash files; the by-hash
// files of those they replace stay until KeepByHash after this version.
func (b *builder) indexes(comp string, archs []string, chunks func(fn func(e tree.Entry, data []byte) error) error) error {
	var open []*publish.FileWriter
	abort := func(err error) error {
		for _, fw := range open {
			fw.Abort(err)
		}
		return err
	}
	ix := make([]*archIndex, len(archs))
	for i, a := range archs {
		ai := &archIndex{arch: a}
		dir := indexDir(b.s, comp, a)
		for j, in := range indexNames {
			fw, err := b.w.Create(dir+in.name, in.ctype)
			if err != nil {
				return abort(err)
			}
			open = append(open, fw)
			ai.outs[j] = &hashedFile{fw: fw, md5: md5.New(), sh1: sha1.New()}
		}
		ai.xj = &xzJoiner{w: ai.outs[2]}
		ix[i] = ai
	}
	err := chunks(func(e tree.Entry, data []byte) error {
		for _, ai := range ix {
			p, ok := parsePart(e.Metadata[ai.arch])
			if !ok {
				continue
			}
			if data == nil {
				var err error
				if data, err = b.readBlob(e.SHA256); err != nil {
					return err
				}
			}
			plain, gz, xzs, err := p.slices(data)
			if err != nil {
				return fmt.Errorf("%s: %w", e.Path, err)
			}
			if _, err := ai.outs[0].Write(plain); err != nil {
				return err
			}
			if _, err := ai.outs[1].Write(gz); err != nil {
				return err
			}
			if err := ai.xj.add(xzs); err != nil {
				return err
			}
			ai.n++
		}
		return nil
	})
	for _, ai := range ix {
		if err != nil {
			break
		}
		if ai.n == 0 {
			if _, err = ai.outs[0].Write(emptyIndex.plain); err != nil {
				break
			}
			if _, err = ai.outs[1].Write(emptyIndex.gz); err != nil {
				break
			}
		}
		err = ai.xj.close()
	}
	if err != nil {
		return abort(err)
	}
	// Every file is closed before any is recorded: a record can make
	// the writer store its batch, which open files still go to.
	for _, ai := range ix {
		for _, o := range ai.outs {
			open = open[1:]
			if err := o.fw.Close(); err != nil {
				return abort(err)
			}
		}
	}
	for _, ai := range ix {
		for j, o := range ai.outs {
			id, size := o.fw.Blob()
			f := indexFile{size: size, md5: hex.EncodeToString(o.md5.Sum(nil)), sha1: hex.EncodeToString(o.sh1.Sum(nil)), sha256: id.String()}
			if err := b.record(comp, ai.arch, indexNames[j].name, indexNames[j].ctype, id, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyBlob writes the blob id (a chunk) to w.
func (b *builder) copyBlob(w io.Writer, id objects.ID) error {
	if data, ok := b.mem[id]; ok {
		_, err := w.Write(data)
		return err
	}
	rc, err := b.st.Objects().OpenBlob(b.ctx, id)
	if err != nil {
		return fmt.Errorf("chunk %s of the earlier publication: %w", id, err)
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// readBlob returns the content of the blob id (a chunk).
func (b *builder) readBlob(id objects.ID) ([]byte, error) {
	if data, ok := b.mem[id]; ok {
		return data, nil
	}
	var buf bytes.Buffer
	if err := b.copyBlob(&buf, id); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
