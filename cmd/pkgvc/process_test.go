package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The process tests run pkgvc as separate processes: the test binary
// re-executes itself with reexecEnv set, and TestMain then behaves like
// main. With gateEnv set, the child first waits until that file exists, so
// that several children start their command at the same moment.
const (
	reexecEnv = "PKGVC_TEST_REEXEC"
	gateEnv   = "PKGVC_TEST_GATE"
)

func TestMain(m *testing.M) {
	if os.Getenv(reexecEnv) == "1" {
		if gate := os.Getenv(gateEnv); gate != "" {
			waitForFile(gate, 30*time.Second)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, append([]string{"pkgvc"}, os.Args[1:]...), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func waitForFile(p string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(p); err == nil {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// proc is one pkgvc process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	started        time.Time
}

// startProc starts pkgvc --store store args... as a child process; gate, if
// not empty, is the file it waits for before running.
func startProc(t testing.TB, store, gate string, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	p := &proc{cmd: exec.Command(exe, append([]string{"--store", store}, args...)...)}
	p.cmd.Env = append(os.Environ(), reexecEnv+"=1")
	if gate != "" {
		p.cmd.Env = append(p.cmd.Env, gateEnv+"="+gate)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	p.started = time.Now()
	return p
}

// wait waits for the process; code is -1 if a signal ended it.
func (p *proc) wait(t testing.TB) result {
	t.Helper()
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		require.NoError(t, err)
	}
	return result{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// runProc runs one pkgvc process to completion.
func runProc(t testing.TB, store string, args ...string) result {
	t.Helper()
	return startProc(t, store, "", args...).wait(t)
}

// TestProcessConcurrentPromote races two processes promoting into one
// destination, round after round: in even rounds both force (a -> dst and
// b -> dst), in odd rounds dst is first reset to an older version and both
// try a fast-forward (b's head descends from a's). Each process must
// succeed or refuse with a retry or not-a-fast-forward message, and the
// destination's reflog must have one entry per move.
func TestProcessConcurrentPromote(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"a", "b", "dst"} {
		h.ok("repo", "create", n)
	}
	h.ok("commit", "a", h.file("f1.txt", []byte("one")))
	h.ok("commit", "a", h.file("f2.txt", []byte("two")))
	h.ok("promote", "a", "b")
	h.ok("commit", "b", h.file("g.txt", []byte("gee")))
	aHead, bHead, a1 := h.head("a").ID, h.head("b").ID, h.head("a@1").ID

	rounds := 20
	if testing.Short() {
		rounds = 10
	}
	before := len(h.reflog("dst"))
	moved := 0
	movedBy := func(out string) int {
		var res []struct {
			Moved bool `json:"moved"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res), out)
		n := 0
		for _, r := range res {
			if r.Moved {
				n++
			}
		}
		return n
	}
	var okCount, conflicts, notFF int
	gates := t.TempDir()
	for round := 0; round < rounds; round++ {
		ff := round%2 == 1
		if ff {
			moved += movedBy(h.ok("--json", "promote", "a@1", "dst", "--force"))
			require.Equal(t, a1, h.head("dst").ID)
		}
		gate := filepath.Join(gates, strconv.Itoa(round))
		args := func(src string) []string {
			a := []string{"--json", "promote", src, "dst"}
			if !ff {
				a = append(a, "--force")
			}
			return a
		}
		procs := []*proc{startProc(t, h.store, gate, args("a")...), startProc(t, h.store, gate, args("b")...)}
		require.NoError(t, os.WriteFile(gate, nil, 0o644))
		for _, p := range procs {
			r := p.wait(t)
			switch r.code {
			case 0:
				okCount++
				moved += movedBy(r.stdout)
			case 1:
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), "round %d: one line\n%s", round, r)
				switch {
				case strings.Contains(r.stderr, "ref moved, retry"):
					conflicts++
				case ff && strings.Contains(r.stderr, "not a fast-forward") && strings.Contains(r.stderr, "--force"):
					notFF++
				default:
					t.Fatalf("round %d (ff=%v): unexpected refusal\n%s", round, ff, r)
				}
			default:
				t.Fatalf("round %d (ff=%v): unexpected exit\n%s", round, ff, r)
			}
		}
		head := h.head("dst").ID
		require.Contains(t, []string{aHead, bHead}, head, "round %d", round)
	}
	rl := h.reflog("dst")
	require.Len(t, rl, before+moved, "one reflog entry per successful promote")
	for _, e := range rl {
		require.True(t, strings.HasPrefix(e.Action, "promote: "), e.Action)
	}
	h.ok("fsck")
	t.Logf("%d rounds: %d promotes succeeded (%d moves), %d ref-moved conflicts, %d not-a-fast-forward refusals",
		rounds, okCount, moved, conflicts, notFF)
}

// fileSet is a directory of files to commit and the records expected for it.
type fileSet struct {
	dir   string
	want  map[string]lsOut
	small []string // paths of the small files
}

func recordOf(path string, data []byte) lsOut {
	s := sha256.Sum256(data)
	return lsOut{Path: path, SHA256: hex.EncodeToString(s[:]), Size: int64(len(data)), Metadata: map[string]string{}}
}

// writeSet writes n small files plus a few larger ones of random size up
// to 256 KiB under dir; tag makes the contents of two sets differ.
func writeSet(t testing.TB, rng *rand.Rand, dir, tag string, n, big int) *fileSet {
	t.Helper()
	fset := &fileSet{dir: dir, want: map[string]lsOut{}}
	put := func(rel string, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		fset.want[rel] = recordOf(rel, data)
	}
	for i := 0; i < n; i++ {
		data := fmt.Appendf(nil, "set %s package %d\n", tag, i)
		data = append(data, randomBytes(rng, rng.IntN(512))...)
		rel := fmt.Sprintf("pool/%02d/pkg-%04d.txt", i%40, i)
		put(rel, data)
		fset.small = append(fset.small, rel)
	}
	for i := 0; i < big; i++ {
		put(fmt.Sprintf("big/blob-%d.bin", i), randomBytes(rng, 1+rng.IntN(256<<10)))
	}
	return fset
}

// change gives the set's stamp file and k of its small files new content,
// so that every commit of the set ingests new blobs as well as known ones.
func (f *fileSet) change(t testing.TB, rng *rand.Rand, i, k int) {
	t.Helper()
	put := func(rel string, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, filepath.FromSlash(rel)), data, 0o644))
		f.want[rel] = recordOf(rel, data)
	}
	data := fmt.Appendf(nil, "iteration %d\n", i)
	put("stamp.bin", append(data, randomBytes(rng, rng.IntN(64<<10))...))
	for j := 0; j < k && len(f.small) > 0; j++ {
		rel := f.small[rng.IntN(len(f.small))]
		data := fmt.Appendf(nil, "%s changed in iteration %d\n", rel, i)
		put(rel, append(data, randomBytes(rng, rng.IntN(512))...))
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// requireContent checks that rev holds exactly the set's records.
func (h *harness) requireContent(rev string, want map[string]lsOut, msgAndArgs ...any) {
	h.t.Helper()
	got := h.ls(rev)
	require.Len(h.t, got, len(want), msgAndArgs...)
	for _, r := range got {
		require.Equal(h.t, want[r.Path], r, msgAndArgs...)
	}
}

func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("PKGVC_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		return v
	}
	return uint64(time.Now().UnixNano())
}

// TestProcessCommitCrash kills a commit of a few thousand files with
// SIGKILL at a random moment, over and over, and checks after each kill
// that the store is consistent, that the head is the old or the complete
// new version, and that the commit can be run again to completion.
func TestProcessCommitCrash(t *testing.T) {
	iterations := 100
	if testing.Short() {
		iterations = 10
	}
	const files, big, churn = 3000, 6, 150
	seed := crashSeed(t)
	t.Logf("seed %d (set PKGVC_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 0x706b677663))
	h := newHarness(t)
	h.ok("repo", "create", "crash")
	sets := [2]*fileSet{
		writeSet(t, rng, filepath.Join(h.work, "A"), "A", files, big),
		writeSet(t, rng, filepath.Join(h.work, "B"), "B", files, big),
	}

	// prepare changes the next set and flushes the file system, so that
	// the commit's own syncfs does not also write out the test's files.
	n := 0
	prepare := func(k int) (*fileSet, string) {
		n++
		set := sets[n%2]
		set.change(t, rng, n, k)
		syscall.Sync()
		return set, fmt.Sprintf("iteration %d", n)
	}
	for range sets {
		set, msg := prepare(0)
		h.ok("commit", "crash", set.dir, "-m", msg)
	}
	// The normal duration of the commit every iteration makes (a set whose
	// stamp and a few hundred files changed), as a separate process: the
	// median of three runs, since syncfs makes single runs noisy.
	var runs []time.Duration
	for range 3 {
		set, msg := prepare(churn)
		start := time.Now()
		r := runProc(t, h.store, "commit", "crash", set.dir, "-m", msg)
		runs = append(runs, time.Since(start))
		require.Equal(t, 0, r.code, "%s", r)
		h.requireContent("crash", set.want)
	}
	slices.Sort(runs)
	normal := runs[1]
	t.Logf("a commit of %d files (%d of them new) takes %v (runs %v)", len(sets[0].want), churn+1, normal, runs)
	versions := len(h.log("crash"))

	var beforeMove, afterMove, finished int
	began := time.Now()
	for i := 1; i <= iterations; i++ {
		set, msg := prepare(churn)
		prev := h.head("crash").Version

		delay := time.Duration(rng.Int64N(int64(normal) * 12 / 10))
		p := startProc(t, h.store, "", "commit", "crash", set.dir, "-m", msg)
		time.Sleep(time.Until(p.started.Add(delay)))
		_ = p.cmd.Process.Kill() // fails if it already exited
		r := p.wait(t)
		killed := r.code == -1
		if !killed {
			require.Equal(t, 0, r.code, "iteration %d: the commit failed on its own\n%s", i, r)
		}

		fsck := h.run("fsck")
		require.Equal(t, 0, fsck.code, "iteration %d (killed after %v): fsck\n%s", i, delay, fsck)
		head := h.head("crash")
		require.Contains(t, []int{prev, prev + 1}, head.Version, "iteration %d: head must be the old or the new version", i)
		switch {
		case head.Version == prev+1:
			require.Equal(t, msg, head.Message)
			h.requireContent("crash", set.want, "iteration %d: a moved head has the full new content", i)
			if killed {
				afterMove++
			} else {
				finished++
			}
		default:
			require.True(t, killed, "iteration %d: a finished commit moved nothing", i)
			beforeMove++
		}

		// Run the commit again, to completion.
		again := h.run("commit", "crash", set.dir, "-m", msg)
		require.Equal(t, 0, again.code, "iteration %d: re-run\n%s", i, again)
		fsck = h.run("fsck")
		require.Equal(t, 0, fsck.code, "iteration %d: fsck after the re-run\n%s", i, fsck)
		head = h.head("crash")
		require.Equal(t, prev+1, head.Version, "iteration %d", i)
		h.requireContent("crash", set.want, "iteration %d: after the re-run", i)
	}
	elapsed := time.Since(began)
	require.Len(t, h.log("crash"), versions+iterations)
	tmp := countFiles(t, filepath.Join(h.store, "data", "tmp"))
	h.ok("gc", "--grace", "0s")
	h.ok("fsck")
	h.requireContent("crash", sets[n%2].want)
	require.Zero(t, countFiles(t, filepath.Join(h.store, "data", "tmp")), "gc removes what killed commits staged")
	t.Logf("%d iterations in %v: %d kills landed before the head moved, %d after it moved, %d commits finished before the kill; "+
		"%d leftover files in data/tmp (%d after gc --grace 0s)",
		iterations, elapsed.Round(time.Millisecond), beforeMove, afterMove, finished, tmp, countFiles(t, filepath.Join(h.store, "data", "tmp")))
}

func countFiles(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return n
}

// TestProcessKilledCommitLeavesNoGarbage kills commits while they stage
// files and expects gc to remove the staged files they left in data/tmp.
func TestProcessKilledCommitLeavesNoGarbage(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "crash")
	rng := rand.New(rand.NewPCG(1, 2))
	set := writeSet(t, rng, filepath.Join(h.work, "A"), "A", 200, 8)
	tmp := filepath.Join(h.store, "data", "tmp")
	for i := 0; i < 5; i++ {
		set.change(t, rng, i, 20)
		p := startProc(t, h.store, "", "commit", "crash", set.dir)
		deadline := time.Now().Add(10 * time.Second)
		for countFiles(t, tmp) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		_ = p.cmd.Process.Kill()
		p.wait(t)
	}
	require.NotZero(t, countFiles(t, tmp), "the kills left staged files behind")
	h.ok("gc", "--grace", "0s")
	h.ok("fsck")
	require.Zero(t, countFiles(t, tmp), "gc must remove what killed commits staged")
}

// TestProcessGCWhileCommitting runs gc in a loop in one process while
// another process commits ten times. With the default grace period the
// store must always be clean, with the default grace and without any.
func TestProcessGCWhileCommitting(t *testing.T) {
	t.Run("default grace", func(t *testing.T) {
		obs := gcWhileCommitting(t, nil)
		require.Empty(t, obs.problems, "with the default grace gc must never harm a commit in flight")
		t.Logf("%d gc runs during %d commits: clean", obs.gcRuns, obs.commits)
	})
	t.Run("grace 0s", func(t *testing.T) {
		// Even without a grace period: a commit holds its lease on the
		// store from its first write to its ref's move, and gc's mark
		// waits for it.
		for i := 0; i < 3; i++ {
			obs := gcWhileCommitting(t, []string{"--grace", "0s"})
			require.Empty(t, obs.problems, "run %d: gc --grace 0s harmed commits in flight", i)
			t.Logf("run %d: %d gc runs during %d commits: clean", i, obs.gcRuns, obs.commits)
		}
	})
}

type gcObservation struct {
	gcRuns, commits int
	problems        []string
}

// gcWhileCommitting commits ten versions in one process while another runs
// gc with gcArgs in a loop, then checks every version with fsck, ls and cat.
func gcWhileCommitting(t *testing.T, gcArgs []string) gcObservation {
	t.Helper()
	const commits, files = 10, 150
	h := newHarness(t)
	h.ok("repo", "create", "g")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var sets []*fileSet
	for i := 0; i < commits; i++ {
		// The same paths each time, new content: every version replaces
		// every package, so each holds exactly one set.
		sets = append(sets, writeSet(t, rng, filepath.Join(h.work, fmt.Sprint(i)), fmt.Sprint(i), files, 2))
	}
	var obs gcObservation
	var mu sync.Mutex
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		obs.problems = append(obs.problems, fmt.Sprintf(format, args...))
	}
	versions := make([]string, commits)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(done)
		for i, s := range sets {
			r := runProc(t, h.store, "--json", "commit", "g", s.dir)
			if r.code != 0 && r.code != 1 {
				t.Errorf("commit %d: exit %d (want 0, or 1 with a message)\n%s", i, r.code, r)
			}
			if r.code != 0 {
				note("commit %d: exit %d: %s", i, r.code, strings.TrimSpace(r.stderr))
				continue
			}
			var c commitOut
			if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
				note("commit %d: %v", i, err)
				continue
			}
			versions[i] = c.ID
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			r := runProc(t, h.store, append([]string{"gc"}, gcArgs...)...)
			mu.Lock()
			obs.gcRuns++
			mu.Unlock()
			if r.code != 0 && r.code != 1 {
				t.Errorf("gc: exit %d (want 0, or 1 with a message)\n%s", r.code, r)
			}
			if r.code != 0 {
				note("gc: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
			}
		}
	}()
	wg.Wait()

	if r := h.run("fsck"); r.code != 0 {
		note("fsck: exit %d: %s", r.code, strings.TrimSpace(lastLine(r.stderr)))
	}
	for i, id := range versions {
		if id == "" {
			continue
		}
		obs.commits++
		var recs []lsOut
		r := h.run("--json", "ls", id)
		if r.code != 0 {
			note("version %d: ls: %s", i+1, strings.TrimSpace(r.stderr))
			continue
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &recs))
		if len(recs) != len(sets[i].want) {
			note("version %d: %d packages, want %d", i+1, len(recs), len(sets[i].want))
		}
		unreadable := 0
		first := ""
		for path, want := range sets[i].want {
			c := h.run("cat", id, path)
			if c.code != 0 || recordOf(path, []byte(c.stdout)).SHA256 != want.SHA256 {
				unreadable++
				if first == "" {
					first = path + ": " + strings.TrimSpace(c.stderr)
				}
			}
		}
		if unreadable > 0 {
			note("version %d: %d of %d packages unreadable (first %s)", i+1, unreadable, len(sets[i].want), first)
		}
	}
	return obs
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestProcessGCDefaultGraceRecommitOldContent re-commits content whose blobs
// are still in the store but unreachable and older than the grace period
// (a deleted repository's packages, aged by hand), while gc runs with the
// default grace. The commit deduplicates against the old blobs and gc
// deletes them: the new version must still be complete.
func TestProcessGCDefaultGraceRecommitOldContent(t *testing.T) {
	const runs = 10
	for run := 0; run < runs; run++ {
		h := newHarness(t)
		h.ok("repo", "create", "old")
		rng := rand.New(rand.NewPCG(uint64(run), 3))
		set := writeSet(t, rng, filepath.Join(h.work, "X"), "X", 2000, 0)
		h.ok("commit", "old", set.dir)
		h.ok("repo", "delete", "old")
		h.ok("repo", "create", "new")
		h.ok("commit", "new", "--allow-empty")
		old := time.Now().Add(-2 * time.Hour)
		for _, d := range []string{"objects", "blobs"} {
			require.NoError(t, filepath.WalkDir(filepath.Join(h.store, "data", d), func(p string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				return os.Chtimes(p, old, old)
			}))
		}
		gate := filepath.Join(t.TempDir(), "gate")
		c := startProc(t, h.store, gate, "commit", "new", set.dir)
		g := startProc(t, h.store, gate, "gc")
		time.Sleep(20 * time.Millisecond) // let both reach the gate
		require.NoError(t, os.WriteFile(gate, nil, 0o644))
		require.Equal(t, 0, c.wait(t).code)
		require.Equal(t, 0, g.wait(t).code)
		f := h.run("fsck")
		require.Equal(t, 0, f.code, "run %d: %s", run, lastLine(f.stderr))
		h.requireContent("new", set.want)
	}
}
