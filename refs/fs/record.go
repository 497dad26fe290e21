package fs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/pkgvc/pkgvc/objects"
)

// record is one transaction: one line of the log. Updates holds only the
// updates that changed a ref (Old != New).
//
// A checkpoint record is the first line of a log made by a checkpoint: it
// holds every ref (Refs) after the transaction with Seq, and no updates.
// Checkpoint comes right after Seq so that a log's first bytes tell
// whether it starts with one (see readLogBase).
type record struct {
	Seq        uint64                `json:"seq"`
	Checkpoint bool                  `json:"checkpoint,omitempty"`
	Time       time.Time             `json:"time"`
	Who        string                `json:"who"`
	Action     string                `json:"action"`
	Updates    []recordItem          `json:"updates"`
	Refs       map[string]objects.ID `json:"refs,omitempty"`
}

type recordItem struct {
	Name string     `json:"name"`
	Old  objects.ID `json:"old"`
	New  objects.ID `json:"new"`
}

// crcLen is the length of the line trailer: TAB, 8 hex digits.
const crcLen = 1 + 8

// encodeLine frames rec as JSON, TAB, CRC-32 (IEEE) of the JSON in 8 hex
// digits, newline. encoding/json escapes control characters, so the JSON
// holds neither TAB nor newline.
func encodeLine(rec any) ([]byte, error) {
	js, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode log record: %w", err)
	}
	line := make([]byte, 0, len(js)+crcLen+1)
	line = append(line, js...)
	line = fmt.Appendf(line, "\t%08x\n", crc32.ChecksumIEEE(js))
	return line, nil
}

// frame returns the JSON of a complete line (ending in '\n') if its
// framing and CRC are valid.
func frame(line []byte) ([]byte, bool) {
	if len(line) < crcLen+1 || line[len(line)-1] != '\n' {
		return nil, false
	}
	body := line[:len(line)-1]
	js, trailer := body[:len(body)-crcLen], body[len(body)-crcLen:]
	if trailer[0] != '\t' {
		return nil, false
	}
	for _, c := range trailer[1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, false
		}
	}
	sum, err := strconv.ParseUint(string(trailer[1:]), 16, 32)
	if err != nil || uint32(sum) != crc32.ChecksumIEEE(js) {
		return nil, false
	}
	return js, true
}

// toEOF is a scan limit past any real log's end.
const toEOF = 1 << 62

// scanResult says where a scan of the log stopped.
type scanResult struct {
	end  int64 // offset just past the last valid line
	tail int64 // bytes after end: a torn tail, or a line being written
}

// scan reads the log from offset start up to offset limit (or EOF) and
// calls fn with each valid line's record and the offset just past it. Invalid
// bytes at the very end (a partial line, or complete lines with a bad
// CRC) are a tail and not an error; an invalid line followed by a valid
// one is ErrCorrupt, as is a valid line that is not a record.
func scan(ctx context.Context, f *os.File, start, limit int64, fn func(rec *record, end int64) error) (scanResult, error) {
	return scanFrames(ctx, f, start, limit, func(js []byte, pos, end int64) error {
		var rec record
		if err := json.Unmarshal(js, &rec); err != nil {
			return fmt.Errorf("%w: %s: line at offset %d: %w", ErrCorrupt, f.Name(), pos, err)
		}
		return fn(&rec, end)
	})
}

// scanFrames is scan for lines of any JSON: fn gets each valid line's JSON
// and the offsets where the line starts and ends.
func scanFrames(ctx context.Context, f *os.File, start, limit int64, fn func(js []byte, pos, end int64) error) (scanResult, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, start, limit-start), 64<<10)
	pos, bad := start, int64(-1)
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return scanResult{}, err
			}
		}
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if bad < 0 {
				bad = pos
			}
			pos += int64(len(line))
			break
		}
		if err != nil {
			return scanResult{}, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		js, ok := frame(line)
		if !ok {
			if bad < 0 {
				bad = pos
			}
			pos += int64(len(line))
			continue
		}
		if bad >= 0 {
			return scanResult{}, fmt.Errorf("%w: %s: invalid line at offset %d followed by a valid line at %d", ErrCorrupt, f.Name(), bad, pos)
		}
		if err := fn(js, pos, pos+int64(len(line))); err != nil {
			return scanResult{}, err
		}
		pos += int64(len(line))
	}
	return scanResult{end: bad, tail: pos - bad}, nil
}
