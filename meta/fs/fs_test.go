package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/meta/metatest"
)

// Environment of helper processes.
const (
	helperEnv = "PKGVC_META_FS_HELPER" // "increment" or "crash"
	dirEnv    = "PKGVC_META_FS_DIR"
	countEnv  = "PKGVC_META_FS_COUNT"
	stepEnv   = "PKGVC_META_FS_STEP" // the crash point to die at
)

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		s, err := New(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

// Two Stores on one directory (as two processes have) see each other's
// writes, and a reopened one sees everything.
func TestSharedAndReopened(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := New(dir)
	require.NoError(t, err)
	b, err := New(dir)
	require.NoError(t, err)
	r, err := meta.PutIf(ctx, a, "x/y", []byte("1"), "")
	require.NoError(t, err)
	v, rev, err := b.Get(ctx, "x/y")
	require.NoError(t, err)
	require.Equal(t, "1", string(v))
	require.Equal(t, r, rev)
	_, err = meta.PutIf(ctx, b, "x/y", []byte("2"), "")
	require.ErrorIs(t, err, meta.ErrConflict)
	require.NoError(t, meta.DeleteIf(ctx, b, "x/y", r))
	// The directory of a deleted last key goes too.
	_, err = os.Stat(filepath.Join(dir, keysDir, "x"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Revisions keep growing across reopening, also after deletes.
	c, err := New(dir)
	require.NoError(t, err)
	r2, err := meta.PutIf(ctx, c, "x/y", []byte("3"), "")
	require.NoError(t, err)
	require.NotEqual(t, r, r2)
	n1, _ := strconv.Atoi(string(r))
	n2, _ := strconv.Atoi(string(r2))
	require.Greater(t, n2, n1)
}

// List under a prefix reads the files of those keys only: a damaged file
// elsewhere does not matter.
func TestListReadsOnlyPrefix(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	for _, k := range []string{"dists/a", "dists/b", "tasks/t1", "distsx"} {
		_, err := meta.PutIf(ctx, s, k, []byte(k), "")
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(s.keyPath("tasks/t1"), []byte("no revision line"), 0o644))
	require.NoError(t, os.WriteFile(s.keyPath("distsx"), []byte("no revision line"), 0o644))
	var keys []string
	require.NoError(t, s.List(ctx, "dists/", func(k string, _ []byte, _ meta.Rev) error {
		keys = append(keys, k)
		return nil
	}))
	require.Equal(t, []string{"dists/a", "dists/b"}, keys)
	err = s.List(ctx, "", func(string, []byte, meta.Rev) error { return nil })
	require.ErrorContains(t, err, "damaged")
}

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
	s, err := New(dir)
	if err != nil {
		return err
	}
	switch mode {
	case "increment":
		n, err := strconv.Atoi(os.Getenv(countEnv))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if _, _, err := metatest.Increment(ctx, s, "counter"); err != nil {
				return err
			}
		}
		return nil
	case "crash":
		step := os.Getenv(stepEnv)
		crashHook = func(at string) {
			if at == step {
				os.Exit(3) // no deferred cleanup, as a crash
			}
		}
		return crashBatch(ctx, s)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// crashBatch changes three keys and adds one in one batch; "old" holds
// the revisions it expects.
func crashBatch(ctx context.Context, s *Store) error {
	var ops []meta.Op
	for _, k := range []string{"b/1", "b/2", "b/3"} {
		_, rev, err := s.Get(ctx, k)
		if err != nil {
			return err
		}
		op := meta.Op{Key: k, Old: rev, Value: []byte("new")}
		if k == "b/2" {
			op.Value = nil
		}
		ops = append(ops, op)
	}
	ops = append(ops, meta.Op{Key: "b/4/deep", Value: []byte("new")})
	_, err := s.Apply(ctx, ops...)
	return err
}

func run(t *testing.T, env ...string) error {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// Processes CAS-incrementing one key never lose an increment.
func TestProcessesIncrement(t *testing.T) {
	dir := t.TempDir()
	_, err := New(dir)
	require.NoError(t, err)
	const procs, each = 4, 50
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = run(t, helperEnv+"=increment", dirEnv+"="+dir, countEnv+"="+strconv.Itoa(each))
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	s, err := New(dir)
	require.NoError(t, err)
	v, _, err := s.Get(context.Background(), "counter")
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(procs*each), string(v))
}

// A process dying at any step of a batch leaves the batch applied whole
// or not at all, for readers in other processes and after reopening.
func TestCrash(t *testing.T) {
	ctx := context.Background()
	// "temp" is the first temp file written: the journal's.
	steps := []string{"rev", "temp", "journal", "op0", "op1", "op2", "op3", "none"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			s, err := New(dir)
			require.NoError(t, err)
			for _, k := range []string{"b/1", "b/2", "b/3"} {
				_, err := meta.PutIf(ctx, s, k, []byte("old"), "")
				require.NoError(t, err)
			}
			_, before, err := s.Get(ctx, "b/3")
			require.NoError(t, err)
			err = run(t, helperEnv+"=crash", dirEnv+"="+dir, stepEnv+"="+step)
			if step == "none" {
				require.NoError(t, err)
			} else {
				var ee *exec.ExitError
				require.True(t, errors.As(err, &ee) && ee.ExitCode() == 3, "helper did not crash at %s: %v", step, err)
			}
			if step == "temp" {
				tmps, err := os.ReadDir(filepath.Join(dir, tmpDir))
				require.NoError(t, err)
				require.NotEmpty(t, tmps, "the crash left the journal's temp file")
			}
			// A reader in this process, which held the store open
			// throughout, sees all or nothing.
			got := dump(t, s)
			applied := step != "rev" && step != "temp"
			if applied {
				require.Equal(t, "b/1=new b/3=new b/4/deep=new", got)
			} else {
				require.Equal(t, "b/1=old b/2=old b/3=old", got)
			}
			_, err = os.Stat(filepath.Join(dir, journalFile))
			require.ErrorIs(t, err, os.ErrNotExist, "the reader finished the batch")
			// Revisions still never repeat.
			r, err := meta.PutIf(ctx, s, "b/5", []byte("x"), "")
			require.NoError(t, err)
			_, rev3, err := s.Get(ctx, "b/3")
			require.NoError(t, err)
			require.NotEqual(t, r, rev3)
			if applied {
				require.NotEqual(t, before, rev3)
			}
			s2, err := New(dir)
			require.NoError(t, err)
			require.Equal(t, dump(t, s), dump(t, s2))
			tmps, err := os.ReadDir(filepath.Join(dir, tmpDir))
			require.NoError(t, err)
			require.Empty(t, tmps, "New removes the temp files a crash left")
		})
	}
}

func dump(t *testing.T, s meta.Store) string {
	var parts []string
	require.NoError(t, s.List(context.Background(), "b/", func(k string, v []byte, _ meta.Rev) error {
		if k != "b/5" {
			parts = append(parts, k+"="+string(v))
		}
		return nil
	}))
	return strings.Join(parts, " ")
}

// After a machine crash SeqFile may be lost or stale (it is not synced):
// revisions then go on from the durable ceiling, never repeating.
func TestSeqLost(t *testing.T) {
	ctx := context.Background()
	for _, seq := range []string{"", "garbage", strings.Repeat("0", 36) + " 00000000000000000001\n"} {
		dir := t.TempDir()
		s, err := New(dir)
		require.NoError(t, err)
		seen := map[meta.Rev]bool{}
		var old meta.Rev
		for i := 0; i < 30; i++ {
			r, err := meta.PutIf(ctx, s, "k", []byte("v"), old)
			require.NoError(t, err)
			old = r
			if i%10 != 0 {
				continue
			}
			seen[r] = true
			// The machine crashed: SeqFile is as seq says.
			require.NoError(t, os.WriteFile(filepath.Join(dir, SeqFile), []byte(seq), 0o644))
			s, err = New(dir)
			require.NoError(t, err)
		}
		r, err := meta.PutIf(ctx, s, "k", []byte("v"), old)
		require.NoError(t, err)
		require.False(t, seen[r])
		for prev := range seen {
			a, _ := strconv.ParseUint(string(prev), 10, 64)
			b, _ := strconv.ParseUint(string(r), 10, 64)
			require.Greater(t, b, a)
		}
	}
}

// The revision ceiling is stored once per many batches, not per batch.
func TestCeilingStoredRarely(t *testing.T) {
	if bootID() == "" {
		t.Skip("no boot id: every batch stores the ceiling")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	_, err = meta.PutIf(ctx, s, "a", []byte("1"), "")
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(dir, RevFile))
	require.NoError(t, err)
	var old meta.Rev
	for i := 0; i < 50; i++ {
		old, err = meta.PutIf(ctx, s, "b", []byte("x"), old)
		require.NoError(t, err)
	}
	fi2, err := os.Stat(filepath.Join(dir, RevFile))
	require.NoError(t, err)
	require.True(t, os.SameFile(fi, fi2), "RevFile was replaced")
	seq, err := os.ReadFile(filepath.Join(dir, SeqFile))
	require.NoError(t, err)
	require.Contains(t, string(seq), " 00000000000000000051\n")
}

// Files holding values are readable by the store's owner only, whatever
// the umask: documents may be secrets (signing keys).
func TestValueFilesPrivate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	_, err = meta.PutIf(ctx, s, "keys/secret/a", []byte("secret"), "")
	require.NoError(t, err)
	var journal os.FileMode
	crashHook = func(step string) {
		if step == "journal" {
			fi, err := os.Stat(filepath.Join(dir, journalFile))
			require.NoError(t, err)
			journal = fi.Mode().Perm()
		}
	}
	defer func() { crashHook = nil }()
	_, err = s.Apply(ctx, meta.Op{Key: "keys/secret/b", Value: []byte("secret")}, meta.Op{Key: "keys/public/b", Value: []byte("public")})
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), journal, "journal")
	n := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, keysDir), func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			fi, err := d.Info()
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
			n++
		}
		return nil
	}))
	require.Equal(t, 3, n)
}
