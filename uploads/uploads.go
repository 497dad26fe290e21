// Package uploads is the resumable-upload engine the store's upload
// protocols share: the REST API's chunked uploads, OCI blob pushes and
// twine uploads.
//
// A session's state (owner, scope, offset, expiry) is a document of the
// store's metadata store, changed by compare-and-swap only, and its bytes
// a file in the store's temporary area, appended in place. Nothing lives
// in process memory, so several processes serving one store cooperate: a
// chunk may arrive at one and the next at another, and a blob finished on
// one may be committed through another.
//
// Appending claims the session in its document for the time of the write
// (renewed while the chunk streams), so two processes appending to one
// session take turns; the file is cut back to the recorded offset before
// each write, so a chunk half written by a process that died is dropped.
//
// Finishing stores the bytes as a blob, pins it (repo.Store.Pin) so that gc
// keeps it until the version that names it comes, and records who uploaded
// it (Engine.MarkUploaded), for the commit or manifest that names it.
package uploads

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// Metadata keys: sessions/<id> holds a Session, done/<scope hash>/<blob>
// a finished upload.
const (
	sessionPrefix = "uploads/sessions/"
	donePrefix    = "uploads/done/"
)

// DefaultTTL is how long a session that receives nothing is kept, and how
// long a finished upload stays recorded (and its blob pinned).
const DefaultTTL = repo.PendingWindow

// claimTTL is how long an append holds a session without renewing its
// claim; a process that died holding one blocks the session that long.
const claimTTL = 10 * time.Second

var (
	// ErrNotFound matches a session that does not exist: never opened,
	// finished, deleted or expired.
	ErrNotFound = errors.New("upload not found")
	// ErrOffset matches a chunk that does not start at the session's
	// offset; the error is an *OffsetError.
	ErrOffset = errors.New("chunk not at the upload's offset")
	// ErrDigest matches finished bytes whose digest is not the one given;
	// the session is dropped. The error is a *DigestError.
	ErrDigest = errors.New("digest mismatch")
	// ErrTooLarge matches a chunk that would take the session past its
	// size limit; the session keeps what it had.
	ErrTooLarge = errors.New("upload too large")
	// ErrLost matches an append that lost its claim on the session (it
	// stalled past the claim's lease); nothing it wrote counts.
	ErrLost = errors.New("upload changed concurrently")
)

// OffsetError is a chunk at the wrong offset.
type OffsetError struct {
	ID     string
	Offset int64 // where the session ends
	Start  int64 // where the chunk started
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("upload %s holds %d bytes: a chunk must start there, not at %d", e.ID, e.Offset, e.Start)
}

// Unwrap makes an *OffsetError match ErrOffset.
func (e *OffsetError) Unwrap() error { return ErrOffset }

// DigestError is finished content of another digest than the one given.
type DigestError struct {
	ID        string
	Got, Want objects.ID
	Size      int64
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("upload %s: sha256 %s, not %s: upload dropped", e.ID, e.Got, e.Want)
}

// Unwrap makes a *DigestError match ErrDigest.
func (e *DigestError) Unwrap() error { return ErrDigest }

// TooLargeError is a chunk past the limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("an upload may have at most %d bytes", e.Limit)
}

// Unwrap makes a *TooLargeError match ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Session is the state of an upload, as stored.
type Session struct {
	ID      string        `json:"id"`
	Owner   string        `json:"owner"` // the token (name) that opened it
	Scope   string        `json:"scope"` // what it is for, such as a repository
	Offset  int64         `json:"offset"`
	Created time.Time     `json:"created"`
	Updated time.Time     `json:"updated"`
	Expires time.Time     `json:"expires"`
	TTL     time.Duration `json:"ttl"` // idle time before it expires
	// Claim names the append writing to the file now, until ClaimUntil.
	Claim      string    `json:"claim,omitempty"`
	ClaimUntil time.Time `json:"claim_until,omitzero"`
}

// Engine runs upload sessions over one store. Every process serving the
// store builds its own; they share their state through the store.
type Engine struct {
	st  *repo.Store
	m   meta.Store
	dir string
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	busy      map[string]*idLock
	lastSweep time.Time
	dirOK     bool
}

type idLock struct {
	ch   chan struct{}
	refs int
}

// Option configures an Engine.
type Option func(*Engine)

// WithDir keeps the sessions' bytes in dir (default: uploads in the object
// store's temporary directory, objects.Store.TempDir). On the store's file
// system, finishing moves no bytes twice.
func WithDir(dir string) Option { return func(e *Engine) { e.dir = dir } }

// WithTTL sets how long an idle session, and a finished upload's record,
// is kept by default (DefaultTTL).
func WithTTL(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.ttl = d
		}
	}
}

// WithClock sets the clock of expiry.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// New returns the engine of st. It touches nothing until used. A process
// has one, built by its composition root (package app) and shared by its
// servers: the lock of a session, the sweep's pace, are per engine.
func New(st *repo.Store, opts ...Option) *Engine {
	e := &Engine{st: st, m: st.Meta(), ttl: DefaultTTL, now: time.Now, busy: map[string]*idLock{}}
	for _, o := range opts {
		o(e)
	}
	if e.dir == "" {
		e.dir = filepath.Join(st.Objects().TempDir(), "uploads")
	}
	return e
}

// Dir returns the directory of the sessions' bytes.
func (e *Engine) Dir() string { return e.dir }

var idRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidID reports whether id has the form of a session id.
func ValidID(id string) bool { return idRE.MatchString(id) }

func (e *Engine) path(id string) string { return filepath.Join(e.dir, id+".part") }

// File returns the path of session id's bytes, for a caller that reads
// them in place (a commit of the file as an Add) between its own Append
// and Delete. Nobody may write it.
func (e *Engine) File(id string) string { return e.path(id) }

func sessionKey(id string) string { return sessionPrefix + id }

func (e *Engine) ensureDir() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dirOK {
		return nil
	}
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	e.dirOK = true
	return nil
}

// Create opens a session for owner and scope; ttl <= 0 is the engine's.
func (e *Engine) Create(ctx context.Context, owner, scope string, ttl time.Duration) (*Session, error) {
	e.maybeSweep(ctx)
	if err := e.ensureDir(); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = e.ttl
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	id := hex.EncodeToString(raw[:])
	// The file first: a session whose document exists always has one.
	if err := os.WriteFile(e.path(id), nil, 0o600); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	now := e.now().UTC()
	s := &Session{ID: id, Owner: owner, Scope: scope, Created: now, Updated: now, Expires: now.Add(ttl), TTL: ttl}
	if _, err := meta.PutJSON(ctx, e.m, sessionKey(id), s, ""); err != nil {
		_ = os.Remove(e.path(id))
		return nil, fmt.Errorf("uploads: open a session: %w", err)
	}
	return s, nil
}

// Get returns session id; an expired one is not found. It waits for an
// append in progress, in any process: a client resuming after a dropped
// connection learns the offset once what arrived is written.
func (e *Engine) Get(ctx context.Context, id string) (*Session, error) {
	unlock, err := e.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	delay := 10 * time.Millisecond
	for {
		s, _, err := e.get(ctx, id)
		if err != nil || !e.claimed(s) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func (e *Engine) get(ctx context.Context, id string) (*Session, meta.Rev, error) {
	if !ValidID(id) {
		return nil, "", fmt.Errorf("upload %s: %w", id, ErrNotFound)
	}
	var s Session
	rev, err := meta.GetJSON(ctx, e.m, sessionKey(id), &s)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, "", fmt.Errorf("upload %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("upload %s: %w", id, err)
	}
	if !e.now().Before(s.Expires) && !e.claimed(&s) {
		return nil, "", fmt.Errorf("upload %s: %w (expired)", id, ErrNotFound)
	}
	return &s, rev, nil
}

// claimed reports whether an append holds s. Claims use the wall clock:
// they are between processes of one machine or of machines sharing a
// store, never a test's clock.
func (e *Engine) claimed(s *Session) bool {
	return s.Claim != "" && time.Now().Before(s.ClaimUntil)
}

// Count returns how many live sessions match.
func (e *Engine) Count(ctx context.Context, match func(*Session) bool) (int, error) {
	n := 0
	now := e.now()
	err := e.m.List(ctx, sessionPrefix, func(_ string, v []byte, _ meta.Rev) error {
		var s Session
		if json.Unmarshal(v, &s) == nil && now.Before(s.Expires) && match(&s) {
			n++
		}
		return nil
	})
	return n, err
}

// lock serializes one process's requests on a session, so that they need
// not poll each other's claims.
func (e *Engine) lock(ctx context.Context, id string) (func(), error) {
	e.mu.Lock()
	l := e.busy[id]
	if l == nil {
		l = &idLock{ch: make(chan struct{}, 1)}
		e.busy[id] = l
	}
	l.refs++
	e.mu.Unlock()
	release := func() {
		e.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(e.busy, id)
		}
		e.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// claim is a held session: the document as written with the claim.
type claim struct {
	e   *Engine
	s   Session
	rev meta.Rev
	// until is the local deadline of writes: before the stored
	// ClaimUntil, so that a stalled writer stops before anyone may take
	// the session over.
	mu    sync.Mutex
	until time.Time
	lost  bool
}

// acquire claims session id, waiting while another process holds it.
// start >= 0 must be the session's offset.
func (e *Engine) acquire(ctx context.Context, id string, start int64) (*claim, error) {
	delay := 10 * time.Millisecond
	for {
		s, rev, err := e.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if !e.claimed(s) {
			if start >= 0 && s.Offset != start {
				return nil, &OffsetError{ID: id, Offset: s.Offset, Start: start}
			}
			var raw [8]byte
			_, _ = rand.Read(raw[:])
			now := time.Now()
			s.Claim = hex.EncodeToString(raw[:])
			s.ClaimUntil = now.Add(claimTTL).UTC()
			nrev, err := meta.PutJSON(ctx, e.m, sessionKey(id), s, rev)
			if err == nil {
				return &claim{e: e, s: *s, rev: nrev, until: now.Add(claimTTL * 3 / 4)}, nil
			}
			if !errors.Is(err, meta.ErrConflict) {
				return nil, fmt.Errorf("upload %s: %w", id, err)
			}
			continue // changed meanwhile: look again
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// renew extends the claim; it fails once the claim is lost.
func (c *claim) renew(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost {
		return ErrLost
	}
	now := time.Now()
	s := c.s
	s.ClaimUntil = now.Add(claimTTL).UTC()
	rev, err := meta.PutJSON(ctx, c.e.m, sessionKey(s.ID), &s, c.rev)
	if err != nil {
		c.lost = true
		return fmt.Errorf("upload %s: %w: %w", s.ID, ErrLost, err)
	}
	c.s, c.rev, c.until = s, rev, now.Add(claimTTL*3/4)
	return nil
}

// valid reports whether writes may go on.
func (c *claim) valid() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.lost && time.Now().Before(c.until)
}

// release ends the claim, storing the session at offset (and touched);
// it fails if the claim was lost.
func (c *claim) release(ctx context.Context, offset int64) (*Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost {
		return nil, fmt.Errorf("upload %s: %w", c.s.ID, ErrLost)
	}
	now := c.e.now().UTC()
	s := c.s
	s.Offset, s.Claim, s.ClaimUntil = offset, "", time.Time{}
	s.Updated, s.Expires = now, now.Add(s.TTL)
	if _, err := meta.PutJSON(context.WithoutCancel(ctx), c.e.m, sessionKey(s.ID), &s, c.rev); err != nil {
		c.lost = true
		return nil, fmt.Errorf("upload %s: %w: %w", s.ID, ErrLost, err)
	}
	c.lost = true // released
	return &s, nil
}

// drop deletes the claimed session and its bytes.
func (c *claim) drop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost {
		return fmt.Errorf("upload %s: %w", c.s.ID, ErrLost)
	}
	c.lost = true
	if err := meta.DeleteIf(context.WithoutCancel(ctx), c.e.m, sessionKey(c.s.ID), c.rev); err != nil {
		return fmt.Errorf("upload %s: %w: %w", c.s.ID, ErrLost, err)
	}
	_ = os.Remove(c.e.path(c.s.ID))
	return nil
}

// keepAlive renews c until stop is called.
func (c *claim) keepAlive(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(claimTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if c.renew(context.WithoutCancel(ctx)) != nil {
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// AppendOptions tells how a chunk is taken.
type AppendOptions struct {
	// Start is where the chunk starts; it must be the session's offset.
	// -1 appends at the offset, whatever it is.
	Start int64
	// Size, if >= 0, is the chunk's announced size; a body of another
	// size is an error (after the bytes received are handled as below).
	Size int64
	// Limit, if > 0, bounds the session's total size: a chunk that would
	// pass it fails with a *TooLargeError and adds nothing.
	Limit int64
	// KeepPartial keeps what arrived of a cut chunk (the client resumes
	// from the new offset); otherwise a failed chunk adds nothing.
	KeepPartial bool
	// Owner, if set, must be the session's owner (else ErrNotFound).
	Owner string
	// Scope, if set, must be the session's scope (else ErrNotFound).
	Scope string
}

// ChunkError is a chunk whose body failed or did not match its announced
// size; Session is the state after it (what was kept, if anything).
type ChunkError struct {
	Session *Session
	Got     int64 // bytes read
	Err     error
}

func (e *ChunkError) Error() string {
	return fmt.Sprintf("upload %s: chunk cut after %d bytes: %v", e.Session.ID, e.Got, e.Err)
}

func (e *ChunkError) Unwrap() error { return e.Err }

// errShort is a body shorter or longer than announced.
var errShort = errors.New("chunk size mismatch")

// ErrChunkSize matches a chunk whose body is not its announced size.
var ErrChunkSize = errShort

// Append writes body at the end of session id.
func (e *Engine) Append(ctx context.Context, id string, body io.Reader, o AppendOptions) (*Session, error) {
	unlock, err := e.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := e.acquire(ctx, id, o.Start)
	if err != nil {
		return nil, err
	}
	if !c.s.matches(o.Owner, o.Scope) {
		_, _ = c.release(ctx, c.s.Offset)
		return nil, fmt.Errorf("upload %s: %w", id, ErrNotFound)
	}
	off := c.s.Offset
	if o.Limit > 0 && (off >= o.Limit && o.Size != 0 || o.Size > 0 && off+o.Size > o.Limit) {
		_, _ = c.release(ctx, off)
		return nil, &TooLargeError{Limit: o.Limit}
	}
	stop := c.keepAlive(ctx)
	n, werr := c.write(off, o.Size, body, o.Limit)
	stop()
	if werr == nil && o.Size >= 0 && n != o.Size {
		werr = fmt.Errorf("%w: %d bytes announced, %d sent", errShort, o.Size, n)
		n = min(n, o.Size)
	}
	if werr != nil {
		var tl *TooLargeError
		if !o.KeepPartial || errors.As(werr, &tl) || errors.Is(werr, ErrLost) {
			n = 0
		}
	}
	s, err := c.release(ctx, off+n)
	if err != nil {
		return nil, err
	}
	if werr != nil {
		var tl *TooLargeError
		if errors.As(werr, &tl) {
			return s, werr
		}
		return s, &ChunkError{Session: s, Got: n, Err: werr}
	}
	return s, nil
}

func (s *Session) matches(owner, scope string) bool {
	return (owner == "" || s.Owner == owner) && (scope == "" || s.Scope == scope)
}

// write copies body into the file from off, cutting off first whatever a
// failed or dead writer left past it. It syncs what it wrote before the
// offset that counts it is stored.
func (c *claim) write(off, size int64, body io.Reader, limit int64) (int64, error) {
	f, err := os.OpenFile(c.e.path(c.s.ID), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return 0, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	var r io.Reader = body
	if size >= 0 {
		r = io.LimitReader(r, size+1) // one byte more tells a long body
	}
	if limit > 0 {
		r = &limitReader{r: r, n: limit - off, limit: limit}
	}
	n, err := io.CopyBuffer(&claimWriter{c: c, w: f}, r, make([]byte, 256<<10))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	return n, err
}

// claimWriter stops writing once the claim may be lost.
type claimWriter struct {
	c *claim
	w io.Writer
}

func (w *claimWriter) Write(p []byte) (int, error) {
	if !w.c.valid() {
		return 0, fmt.Errorf("upload %s: %w: the claim lapsed", w.c.s.ID, ErrLost)
	}
	return w.w.Write(p)
}

// limitReader fails once more than n bytes are read.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, &TooLargeError{Limit: l.limit}
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.n {
		n = int(l.n)
		l.n = -1
		return n, &TooLargeError{Limit: l.limit}
	}
	l.n -= int64(n)
	return n, err
}

// FinishOptions tells how finished bytes are kept.
type FinishOptions struct {
	// Size, if >= 0, must be the session's offset (else repo.ErrInvalid).
	Size int64
	// Owner and Scope, if set, must be the session's (else ErrNotFound).
	Owner, Scope string
	// PinReason names the pin that keeps the blob from gc.
	PinReason string
	// Mark, if set, records the blob as uploaded by Mark (MarkUploaded).
	Mark string
	// Hash, if set, hashes the bytes in the same pass as their SHA-256;
	// the blob is kept only if its sum is HashWant (else a *HashError).
	// A zero want then skips the SHA-256 check: the caller names the
	// content by this other digest. Alias, with Mark, records the blob
	// under that name too (MarkAlias).
	Hash     hash.Hash
	HashWant []byte
	Alias    string
}

// Blob is a finished upload.
type Blob struct {
	ID   objects.ID
	Size int64
	New  bool // stored just now, not there before
}

// Finish stores session id's bytes as a blob if their sha256 is want
// (and their o.Hash sum o.HashWant),
// pins it for the engine's TTL and ends the session. Other bytes end it
// too, with a *DigestError.
func (e *Engine) Finish(ctx context.Context, id string, want objects.ID, o FinishOptions) (Blob, error) {
	unlock, err := e.lock(ctx, id)
	if err != nil {
		return Blob{}, err
	}
	defer unlock()
	c, err := e.acquire(ctx, id, -1)
	if err != nil {
		return Blob{}, err
	}
	if !c.s.matches(o.Owner, o.Scope) {
		_, _ = c.release(ctx, c.s.Offset)
		return Blob{}, fmt.Errorf("upload %s: %w", id, ErrNotFound)
	}
	size := c.s.Offset
	if o.Size >= 0 && o.Size != size {
		_, _ = c.release(ctx, size)
		return Blob{}, fmt.Errorf("%w: upload %s holds %d bytes, not %d: send the rest first", repo.ErrInvalid, id, size, o.Size)
	}
	stop := c.keepAlive(ctx)
	b, err := e.store(ctx, c, want, o)
	stop()
	if err != nil && !errors.Is(err, ErrDigest) {
		_, _ = c.release(ctx, size) // the client may try again
		return Blob{}, err
	}
	if derr := c.drop(ctx); derr != nil && err == nil {
		err = derr
	}
	return b, err
}

func (e *Engine) store(ctx context.Context, c *claim, want objects.ID, o FinishOptions) (Blob, error) {
	size := c.s.Offset
	f, err := os.Open(e.path(c.s.ID))
	if err != nil {
		return Blob{}, fmt.Errorf("upload %s: %w", c.s.ID, err)
	}
	defer f.Close()
	// From the write to the pin: see repo.Store.GC.
	ctx, release, err := e.st.Objects().Lease(ctx)
	if err != nil {
		return Blob{}, err
	}
	defer release()
	bt := e.st.Objects().NewBatch()
	var body io.Reader = io.LimitReader(f, size)
	if o.Hash != nil {
		body = io.TeeReader(body, o.Hash)
	}
	res, err := bt.PutBlob(ctx, body)
	if err != nil {
		bt.Abort()
		return Blob{}, fmt.Errorf("upload %s: %w", c.s.ID, err)
	}
	if res.Size != size {
		bt.Abort()
		return Blob{}, fmt.Errorf("upload %s: the file holds %d bytes, not %d", c.s.ID, res.Size, size)
	}
	if o.Hash != nil {
		if got := o.Hash.Sum(nil); !bytes.Equal(got, o.HashWant) {
			bt.Abort()
			return Blob{}, &HashError{ID: c.s.ID, Got: got, Want: o.HashWant}
		}
	}
	if res.ID != want && (o.Hash == nil || !want.IsZero()) {
		bt.Abort()
		return Blob{}, &DigestError{ID: c.s.ID, Got: res.ID, Want: want, Size: size}
	}
	if err := bt.Flush(ctx); err != nil {
		return Blob{}, err
	}
	reason := o.PinReason
	if reason == "" {
		reason = "upload"
	}
	if _, err := e.st.Pin(ctx, res.ID, reason, e.ttl); err != nil {
		return Blob{}, err
	}
	if o.Mark != "" {
		if err := e.MarkUploaded(ctx, o.Mark, res.ID); err != nil {
			return Blob{}, err
		}
		if o.Alias != "" {
			if err := e.MarkAlias(ctx, o.Mark, o.Alias, res.ID); err != nil {
				return Blob{}, err
			}
		}
	}
	return Blob{ID: res.ID, Size: size, New: res.New}, nil
}

// Delete ends session id and drops its bytes; owner, if set, must be its.
func (e *Engine) Delete(ctx context.Context, id, owner, scope string) error {
	unlock, err := e.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := e.acquire(ctx, id, -1)
	if err != nil {
		return err
	}
	if !c.s.matches(owner, scope) {
		_, _ = c.release(ctx, c.s.Offset)
		return fmt.Errorf("upload %s: %w", id, ErrNotFound)
	}
	return c.drop(ctx)
}

// doneDoc records a finished upload.
type doneDoc struct {
	By      string     `json:"by"`
	Blob    objects.ID `json:"blob"`
	Expires time.Time  `json:"expires"`
}

// doneKey keys by a digest of by, which may hold any character.
func doneKey(by string, blob objects.ID) string {
	h := sha256.Sum256([]byte(by))
	return donePrefix + hex.EncodeToString(h[:16]) + "/" + blob.String()
}

// MarkUploaded records that by (a token, a repository: what the caller
// checks later) holds blob, for the engine's TTL. A blob an upload stores
// is marked by Finish; a caller marks one otherwise proven (an OCI mount).
func (e *Engine) MarkUploaded(ctx context.Context, by string, blob objects.ID) error {
	key := doneKey(by, blob)
	doc := doneDoc{By: by, Blob: blob, Expires: e.now().Add(e.ttl).UTC()}
	if err := e.overwrite(ctx, key, doc); err != nil {
		return fmt.Errorf("record upload of %s: %w", blob, err)
	}
	return nil
}

// overwrite stores doc at key whatever is there: a record written again
// only moves its expiry on.
func (e *Engine) overwrite(ctx context.Context, key string, doc any) error {
	for {
		_, rev, err := e.m.Get(ctx, key)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		_, err = meta.PutJSON(ctx, e.m, key, doc, rev)
		if !errors.Is(err, meta.ErrConflict) {
			return err
		}
	}
}

// Unmark drops the record that by holds blob (MarkUploaded); one that is
// gone is no error. It reports whether a record was there.
func (e *Engine) Unmark(ctx context.Context, by string, blob objects.ID) (bool, error) {
	key := doneKey(by, blob)
	for {
		_, rev, err := e.m.Get(ctx, key)
		if errors.Is(err, meta.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("drop the upload record of %s: %w", blob, err)
		}
		err = meta.DeleteIf(ctx, e.m, key, rev)
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("drop the upload record of %s: %w", blob, err)
		}
		return true, nil
	}
}

// Uploaded reports whether by finished uploading blob within the TTL.
func (e *Engine) Uploaded(ctx context.Context, by string, blob objects.ID) (bool, error) {
	var d doneDoc
	_, err := meta.GetJSON(ctx, e.m, doneKey(by, blob), &d)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.By == by && d.Blob == blob && e.now().Before(d.Expires), nil
}

// UploadedSet returns the blobs by finished uploading within the TTL: for
// a check of many blobs, one read.
func (e *Engine) UploadedSet(ctx context.Context, by string) (map[objects.ID]bool, error) {
	key := doneKey(by, objects.ID{})
	prefix := key[:strings.LastIndexByte(key, '/')+1]
	now := e.now()
	out := map[objects.ID]bool{}
	err := e.m.List(ctx, prefix, func(_ string, v []byte, _ meta.Rev) error {
		var d doneDoc
		if json.Unmarshal(v, &d) == nil && d.By == by && now.Before(d.Expires) {
			out[d.Blob] = true
		}
		return nil
	})
	return out, err
}

// sweepEvery bounds how often a process sweeps.
const sweepEvery = time.Minute

// maybeSweep sweeps at most once a minute (or tenth of the TTL) per
// process.
func (e *Engine) maybeSweep(ctx context.Context) {
	now := e.now()
	e.mu.Lock()
	if now.Sub(e.lastSweep) < min(sweepEvery, e.ttl/10) {
		e.mu.Unlock()
		return
	}
	e.lastSweep = now
	e.mu.Unlock()
	_ = e.Sweep(ctx)
}

// Sweep removes expired sessions with their bytes, expired records of
// finished uploads, and files no session owns that are older than the
// TTL (left by a process that died opening one).
func (e *Engine) Sweep(ctx context.Context) error {
	now := e.now()
	live := map[string]bool{}
	var stale []meta.Op
	err := e.m.List(ctx, sessionPrefix, func(key string, v []byte, rev meta.Rev) error {
		id := strings.TrimPrefix(key, sessionPrefix)
		var s Session
		if json.Unmarshal(v, &s) != nil {
			live[id] = true // not ours to judge
			return nil
		}
		if now.Before(s.Expires) || e.claimed(&s) {
			live[id] = true
			return nil
		}
		stale = append(stale, meta.Op{Key: key, Old: rev})
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, op := range stale {
		// One by one: a session touched meanwhile stays.
		if _, err := e.m.Apply(ctx, op); err == nil {
			_ = os.Remove(e.path(strings.TrimPrefix(op.Key, sessionPrefix)))
		} else if !errors.Is(err, meta.ErrConflict) {
			errs = append(errs, err)
		}
	}
	var done []meta.Op
	for _, prefix := range []string{donePrefix, aliasPrefix} {
		err = e.m.List(ctx, prefix, func(key string, v []byte, rev meta.Rev) error {
			var d doneDoc // an aliasDoc's expiry reads alike
			if json.Unmarshal(v, &d) == nil && !now.Before(d.Expires) {
				done = append(done, meta.Op{Key: key, Old: rev})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, op := range done {
		if _, err := e.m.Apply(ctx, op); err != nil && !errors.Is(err, meta.ErrConflict) {
			errs = append(errs, err)
		}
	}
	ents, err := os.ReadDir(e.dir)
	if err == nil {
		for _, ent := range ents {
			id, ok := strings.CutSuffix(ent.Name(), ".part")
			if !ok || !ValidID(id) || live[id] {
				continue
			}
			// The file is made before its document: only old ones are
			// orphans. Files carry the wall clock.
			if fi, err := ent.Info(); err == nil && time.Since(fi.ModTime()) > max(e.ttl, DefaultTTL) {
				if _, _, err := e.get(ctx, id); errors.Is(err, ErrNotFound) {
					_ = os.Remove(e.path(id))
				}
			}
		}
	}
	return errors.Join(errs...)
}
