package fs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/refs/refstest"
)

// Environment of helper processes.
const (
	helperEnv = "PKGVC_REFS_FS_HELPER" // mode: "increment", "watch" or "pairs"
	dirEnv    = "PKGVC_REFS_FS_DIR"
	countEnv  = "PKGVC_REFS_FS_COUNT"
	ckptEnv   = "PKGVC_REFS_FS_CHECKPOINT_EVERY"
	seedEnv   = "PKGVC_REFS_FS_KILL_SEED" // overrides the SIGKILL test's seed
)

// TestHelperProcess is not a test: it is the body of the child processes
// the cross-process tests start by running the test binary again.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for other tests")
	}
	if err := helper(mode, os.Getenv(dirEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func helper(mode, dir string) error {
	ctx := context.Background()
	b, err := New(dir)
	if err != nil {
		return err
	}
	if s := os.Getenv(ckptEnv); s != "" {
		if b.checkpointEvery, err = strconv.ParseUint(s, 10, 64); err != nil {
			return err
		}
	}
	who := fmt.Sprint("pid", os.Getpid())
	switch mode {
	case "increment":
		n, err := strconv.Atoi(os.Getenv(countEnv))
		if err != nil {
			return err
		}
		conflicts := 0
		for range n {
			_, c, err := refstest.Increment(ctx, b, "counter", who)
			if err != nil {
				return err
			}
			conflicts += c
		}
		fmt.Printf("result successes=%d conflicts=%d\n", n, conflicts)
		return nil
	case "watch":
		// Read the counter and its reflog until it reaches count: every
		// read must see each move up to the counter's value exactly once,
		// across the checkpoints the writers make meanwhile.
		target, err := strconv.ParseUint(os.Getenv(countEnv), 10, 64)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		deadline := time.Now().Add(time.Minute)
		reads := 0
		for last := uint64(0); last < target; reads++ {
			if time.Now().After(deadline) {
				return fmt.Errorf("counter at %d after a minute, want %d", last, target)
			}
			cur, err := b.Get(ctx, "counter")
			if errors.Is(err, refs.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			n := refstest.N(cur)
			if n < last {
				return fmt.Errorf("counter went back from %d to %d", last, n)
			}
			last = n
			i := uint64(0)
			if err := b.Log(ctx, "counter", func(e refs.Entry) error {
				if refstest.N(e.Old) != i || refstest.N(e.New) != i+1 {
					return fmt.Errorf("reflog entry %d: %d -> %d", i, refstest.N(e.Old), refstest.N(e.New))
				}
				i++
				return nil
			}); err != nil {
				return err
			}
			if i < n {
				return fmt.Errorf("reflog has %d moves, the counter %d", i, n)
			}
		}
		fmt.Printf("result reads=%d\n", reads)
		return nil
	case "pairs":
		// Move a and b together forever. A large Action makes each line
		// span many pages, so SIGKILL can land inside the write; frequent
		// snapshots and checkpoints keep startup fast and get killed
		// mid-write too.
		b.snapshotEvery = 50
		action := "pair " + strings.Repeat("x", 8<<10)
		fmt.Println("ready")
		for {
			cur, err := b.Get(ctx, "a")
			if err != nil && !errors.Is(err, refs.ErrNotFound) {
				return err
			}
			next := refstest.ID(refstest.N(cur) + 1)
			err = b.Apply(ctx, refs.Txn{
				Updates: []refs.Update{{Name: "a", Old: cur, New: next}, {Name: "b", Old: cur, New: next}},
				Who:     who,
				Action:  action,
			})
			if err != nil && !errors.Is(err, refs.ErrConflict) {
				return err
			}
		}
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func helperCmd(t *testing.T, mode, dir string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode, dirEnv + "=" + dir}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestCrossProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const (
		procs = 4
		each  = 200
	)
	dir := t.TempDir()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes int
		conflicts int
		errs      []error
	)
	// A reader process, started before any checkpoint, follows along.
	watcher := helperCmd(t, "watch", dir, countEnv+"="+strconv.Itoa(procs*each))
	watchOut, err := watcher.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, watcher.Start())
	t.Cleanup(func() { _ = watcher.Process.Kill() }) // if the test stops early
	watchLines := bufio.NewReader(watchOut)
	line, err := watchLines.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	for range procs {
		wg.Go(func() {
			cmd := helperCmd(t, "increment", dir, countEnv+"="+strconv.Itoa(each), ckptEnv+"=25")
			out, err := cmd.Output()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("child: %w", err))
				return
			}
			var s, c int
			for line := range strings.Lines(string(out)) {
				if _, err := fmt.Sscanf(line, "result successes=%d conflicts=%d", &s, &c); err == nil {
					break
				}
			}
			successes += s
			conflicts += c
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, procs*each, successes)
	line, err = watchLines.ReadString('\n')
	require.NoError(t, err)
	require.NoError(t, watcher.Wait(), "the reader saw a move twice or not at all")
	t.Logf("reader: %s", strings.TrimSpace(line))
	t.Logf("%d increments by %d processes, %d conflicts retried", successes, procs, conflicts)

	b := newBackend(t, dir)
	got, err := b.Get(t.Context(), "counter")
	require.NoError(t, err)
	require.Equal(t, uint64(successes), refstest.N(got))
	// Checkpoints moved all but the last few entries out of the log.
	require.LessOrEqual(t, len(requireValidLog(t, dir)), 25+1)
	require.Equal(t, successes, len(requireValidLog(t, dir))-1+requireValidFile(t, b.reflogPath("counter")))
	i := uint64(0)
	require.NoError(t, b.Log(t.Context(), "counter", func(e refs.Entry) error {
		require.Equal(t, i, refstest.N(e.Old))
		require.Equal(t, i+1, refstest.N(e.New))
		i++
		return nil
	}))
	require.Equal(t, uint64(successes), i)
}

func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const (
		iterations = 30
		children   = 2
	)
	seed := uint64(20250101)
	if s := os.Getenv(seedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (set %s to repeat)", seed, seedEnv)
	rng := rand.New(rand.NewPCG(seed, seed))
	ctx := t.Context()
	dir := t.TempDir()
	logPath := filepath.Join(dir, logFile)
	torn, tornReflog := 0, 0
	deadline := time.Now().Add(15 * time.Second)

	i := 0
	for ; i < iterations && time.Now().Before(deadline); i++ {
		var cmds []*exec.Cmd
		for range children {
			cmd := helperCmd(t, "pairs", dir, ckptEnv+"=20")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "ready\n", line)
			cmds = append(cmds, cmd)
		}
		time.Sleep(time.Duration(rng.IntN(40_000)) * time.Microsecond)
		for _, cmd := range cmds {
			time.Sleep(time.Duration(rng.IntN(3_000)) * time.Microsecond)
			require.NoError(t, cmd.Process.Kill()) // SIGKILL
		}
		for _, cmd := range cmds {
			err := cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "child ended by itself")
		}

		data, err := os.ReadFile(logPath)
		require.NoError(t, err)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			torn++
		}
		for _, name := range []string{"a", "b"} {
			data, err := os.ReadFile(filepath.Join(dir, reflogDir, reflogName(name)))
			if err == nil && len(data) > 0 && data[len(data)-1] != '\n' {
				tornReflog++
			}
		}

		// A fresh process sees a and b equal: both moved or neither.
		b := newBackend(t, dir)
		va, errA := b.Get(ctx, "a")
		vb, errB := b.Get(ctx, "b")
		require.Equal(t, errA == nil, errB == nil, "a: %v, b: %v", errA, errB)
		require.Equal(t, va, vb)

		// Each of them has every move once: none lost or doubled by a
		// checkpoint killed midway.
		requireCounterLog(t, b, "a", refstest.N(va))
		requireCounterLog(t, b, "b", refstest.N(vb))

		// And it can still write.
		next := refstest.ID(refstest.N(va) + 1)
		require.NoError(t, b.Apply(ctx, refs.Txn{Updates: []refs.Update{
			{Name: "a", Old: va, New: next}, {Name: "b", Old: vb, New: next},
		}, Who: "parent", Action: "check"}))
	}
	requireValidLog(t, dir)

	b := newBackend(t, dir)
	va, err := b.Get(ctx, "a")
	require.NoError(t, err)
	entries := 0
	require.NoError(t, b.Log(ctx, "a", func(e refs.Entry) error {
		entries++
		require.Equal(t, refstest.N(e.Old)+1, refstest.N(e.New))
		return nil
	}))
	require.Equal(t, refstest.N(va), uint64(entries))
	t.Logf("%d rounds, %d transactions survived, %d kills left a torn tail in the log, %d in a reflog file", i, entries, torn, tornReflog)
}

func BenchmarkApply(b *testing.B) {
	be, err := New(b.TempDir())
	require.NoError(b, err)
	ctx := context.Background()
	var cur objects.ID
	n := uint64(0)
	for b.Loop() {
		n++
		next := refstest.ID(n)
		if err := be.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "bench", Old: cur, New: next}}}); err != nil {
			b.Fatal(err)
		}
		cur = next
	}
}

func BenchmarkGet(b *testing.B) {
	be, err := New(b.TempDir())
	require.NoError(b, err)
	ctx := context.Background()
	for i := range 100 {
		name := fmt.Sprintf("heads/r%d", i)
		require.NoError(b, be.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: name, New: refstest.ID(1)}}}))
	}
	for b.Loop() {
		if _, err := be.Get(ctx, "heads/r42"); err != nil {
			b.Fatal(err)
		}
	}
}
