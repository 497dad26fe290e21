package server

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/objects"
)

// uploadedSuffix names the file beside the uploads directory that lists
// the blobs each token finished uploading, so that a restart between an
// upload and its commit does not refuse the commit.
const uploadedSuffix = ".finished.jsonl"

// maxUploadedPerToken bounds the blobs remembered for one token: a
// commit may add at most this many blobs fresh from uploads.
const maxUploadedPerToken = 1 << 18

// uploaded remembers, for each token name, the blobs it finished
// uploading within the TTL. A commit may name such a blob, as it proved to
// hold its bytes; other blobs in the store it may not name, since they
// could be packages of repositories it cannot read.
type uploaded struct {
	path string
	ttl  time.Duration
	now  func() time.Time
	log  *slog.Logger

	mu    sync.Mutex
	byTok map[string]map[objects.ID]time.Time
	lines int // lines in the file, to compact it when most are stale
	live  int
}

type uploadedLine struct {
	Token  string     `json:"token"`
	SHA256 objects.ID `json:"sha256"`
	At     time.Time  `json:"at"`
}

func newUploaded(path string, ttl time.Duration, now func() time.Time, log *slog.Logger) *uploaded {
	u := &uploaded{path: path, ttl: ttl, now: now, log: log, byTok: map[string]map[objects.ID]time.Time{}}
	u.load()
	return u
}

// load reads the file, dropping what expired; an unreadable file is
// logged and started afresh (the uploads it named must be redone).
func (u *uploaded) load() {
	f, err := os.Open(u.path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		u.log.Warn("api: finished uploads", "err", err)
		return
	}
	defer f.Close()
	now := u.now()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l uploadedLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || now.Sub(l.At) >= u.ttl {
			continue
		}
		u.addLocked(l.Token, l.SHA256, l.At)
	}
	u.compactLocked()
}

func (u *uploaded) addLocked(tok string, id objects.ID, at time.Time) {
	m := u.byTok[tok]
	if m == nil {
		m = map[objects.ID]time.Time{}
		u.byTok[tok] = m
	}
	if _, ok := m[id]; !ok {
		u.live++
	}
	m[id] = at
	if len(m) > maxUploadedPerToken {
		u.pruneLocked(tok, m)
	}
}

// pruneLocked drops a token's expired blobs, then its oldest half if it
// still holds too many.
func (u *uploaded) pruneLocked(tok string, m map[objects.ID]time.Time) {
	now := u.now()
	for id, at := range m {
		if now.Sub(at) >= u.ttl {
			delete(m, id)
			u.live--
		}
	}
	if len(m) > maxUploadedPerToken {
		ats := make([]time.Time, 0, len(m))
		for _, at := range m {
			ats = append(ats, at)
		}
		sort.Slice(ats, func(i, j int) bool { return ats[i].Before(ats[j]) })
		cut := ats[len(ats)/2]
		for id, at := range m {
			if at.Before(cut) {
				delete(m, id)
				u.live--
			}
		}
	}
	if len(m) == 0 {
		delete(u.byTok, tok)
	}
}

// Add records that tok finished uploading id.
func (u *uploaded) Add(tok string, id objects.ID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	at := u.now().UTC()
	u.addLocked(tok, id, at)
	raw, _ := json.Marshal(uploadedLine{Token: tok, SHA256: id, At: at})
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.Write(append(raw, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		u.log.Warn("api: finished uploads", "err", err)
		return
	}
	u.lines++
	if u.lines > 2*u.live+1024 {
		u.compactLocked()
	}
}

// Has reports whether tok finished uploading id within the TTL.
func (u *uploaded) Has(tok string, id objects.ID) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.byTok[tok][id]
	return ok && u.now().Sub(at) < u.ttl
}

// compactLocked rewrites the file with the live entries only.
func (u *uploaded) compactLocked() {
	for tok, m := range u.byTok {
		u.pruneLocked(tok, m)
	}
	tmp := u.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		u.log.Warn("api: finished uploads", "err", err)
		return
	}
	w := bufio.NewWriter(f)
	n := 0
	for tok, m := range u.byTok {
		for id, at := range m {
			raw, _ := json.Marshal(uploadedLine{Token: tok, SHA256: id, At: at})
			_, _ = w.Write(append(raw, '\n'))
			n++
		}
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, u.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		u.log.Warn("api: finished uploads", "err", err)
		return
	}
	u.lines, u.live = n, n
}
