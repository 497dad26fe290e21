package publication

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// apt reads only the first stream of a concatenation of .xz streams, so
// the chunks of a Packages.xz are joined at the block level instead: one
// stream whose blocks are the chunks' blocks, copied as they are, and
// whose index lists them (the .xz file format, sections 2 and 4). The
// join costs a copy of the blocks, not their compression.

var xzMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}

const xzHeaderLen, xzFooterLen = 12, 12

// xzRecord is an index record: a block's unpadded and uncompressed sizes.
type xzRecord struct{ unpadded, uncompressed uint64 }

// xzSplit reads a single-stream .xz: its stream flags, its blocks and
// their index records.
func xzSplit(data []byte) (flags []byte, blocks []byte, recs []xzRecord, err error) {
	bad := func(what string) error { return fmt.Errorf("xz chunk: %s", what) }
	if len(data) < xzHeaderLen+xzFooterLen || !bytes.Equal(data[:6], xzMagic) {
		return nil, nil, nil, bad("no stream header")
	}
	flags = data[6:8]
	foot := data[len(data)-xzFooterLen:]
	if !bytes.Equal(foot[10:], []byte("YZ")) || !bytes.Equal(foot[8:10], flags) {
		return nil, nil, nil, bad("bad stream footer (one stream expected)")
	}
	isize := (int(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	istart := len(data) - xzFooterLen - isize
	if istart < xzHeaderLen {
		return nil, nil, nil, bad("index larger than the stream")
	}
	idx := data[istart : len(data)-xzFooterLen]
	if idx[0] != 0 || crc32.ChecksumIEEE(idx[:len(idx)-4]) != binary.LittleEndian.Uint32(idx[len(idx)-4:]) {
		return nil, nil, nil, bad("bad index")
	}
	r := bytes.NewReader(idx[1 : len(idx)-4])
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(idx)) {
		return nil, nil, nil, bad("bad index record count")
	}
	for range n {
		u, err1 := binary.ReadUvarint(r)
		c, err2 := binary.ReadUvarint(r)
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, nil, bad("bad index record")
		}
		recs = append(recs, xzRecord{u, c})
	}
	return flags, data[xzHeaderLen:istart], recs, nil
}

// xzJoiner writes one .xz stream made of the blocks of single-stream
// chunks.
type xzJoiner struct {
	w     io.Writer
	flags []byte
	recs  []xzRecord
}

// add copies the blocks of chunk, a single-stream .xz.
func (j *xzJoiner) add(chunk []byte) error {
	flags, blocks, recs, err := xzSplit(chunk)
	if err != nil {
		return err
	}
	if j.flags == nil {
		j.flags = bytes.Clone(flags)
		hdr := append(bytes.Clone(xzMagic), flags...)
		hdr = binary.LittleEndian.AppendUint32(hdr, crc32.ChecksumIEEE(flags))
		if _, err := j.w.Write(hdr); err != nil {
			return err
		}
	} else if !bytes.Equal(flags, j.flags) {
		return fmt.Errorf("xz chunks with different stream flags")
	}
	j.recs = append(j.recs, recs...)
	_, err = j.w.Write(blocks)
	return err
}

// close writes the index and the footer; without a chunk, the empty
// stream.
func (j *xzJoiner) close() error {
	if j.flags == nil {
		_, err := j.w.Write(emptyIndex.xz)
		return err
	}
	idx := []byte{0}
	idx = binary.AppendUvarint(idx, uint64(len(j.recs)))
	for _, r := range j.recs {
		idx = binary.AppendUvarint(idx, r.unpadded)
		idx = binary.AppendUvarint(idx, r.uncompressed)
	}
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	foot := binary.LittleEndian.AppendUint32(nil, uint32(len(idx)/4-1))
	foot = append(foot, j.flags...)
	out := append(idx, binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(foot))...)
	out = append(out, foot...)
	out = append(out, 'Y', 'Z')
	_, err := j.w.Write(out)
	return err
}
