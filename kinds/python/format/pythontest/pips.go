package pythontest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// DebianPython is the Python of Debian's python3 package, whose venvs get
// Debian's own pip (23.0.1 on Debian 12) from /usr/share/python-wheels.
const DebianPython = "/usr/bin/python3"

// Pip is a pip that users really have, in a venv of its own.
type Pip struct {
	// Version is pip's version ("23.0.1"); Python the venv's python.
	Version, Python string
	// From is the interpreter the venv was made with.
	From string
	// PythonVersion is that interpreter's major and minor version.
	PythonVersion [2]int
}

// AtLeast reports whether the pip is version v or later (v as "22.3").
func (p Pip) AtLeast(v string) bool { return compareVersions(p.Version, v) >= 0 }

func (p Pip) String() string { return "pip " + p.Version + " (" + p.From + ")" }

// Pips makes, under dir, a venv for each pip version the Pythons of this
// machine bring with venv's ensurepip: Debian's python3 first (CI installs
// python3-venv for it), then the python3 on PATH, then those of pyenv
// ($PYENV_ROOT, else ~/.pyenv) and $PKGVC_TEST_PYTHONS (a list separated
// by ':'). Interpreters older than minPython ("3.7") are left out, as is
// one whose venv cannot be made (logged); the test is skipped when no pip
// is left. Under CI, Debian's python3 must make its venv.
func Pips(t testing.TB, dir, minPython string) []Pip {
	t.Helper()
	var cands []string
	if _, err := os.Stat(DebianPython); err == nil {
		cands = append(cands, DebianPython)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	root := os.Getenv("PYENV_ROOT")
	if home, err := os.UserHomeDir(); root == "" && err == nil {
		root = filepath.Join(home, ".pyenv")
	}
	if root != "" {
		found, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin", "python3"))
		cands = append(cands, found...)
	}
	cands = append(cands, filepath.SplitList(os.Getenv("PKGVC_TEST_PYTHONS"))...)

	// Which interpreters bring which pip: fast, one after the other.
	type cand struct {
		py, pip string
		pyv     [2]int
	}
	var todo []cand
	seen := map[string]bool{}
	for _, py := range cands {
		if py == "" {
			continue
		}
		// ensurepip's version is the pip a venv gets.
		out, err := exec.Command(py, "-c", "import ensurepip, sys; print(ensurepip.version(), sys.version_info[0], sys.version_info[1])").Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) != 3 {
			t.Logf("%s: no ensurepip (%v): no venv pip from it", py, err)
			continue
		}
		major, _ := strconv.Atoi(f[1])
		minor, _ := strconv.Atoi(f[2])
		if pyv := f[1] + "." + f[2]; compareVersions(pyv, minPython) < 0 {
			t.Logf("%s is Python %s, older than the %s the test needs: pip %s left out", py, pyv, minPython, f[0])
			continue
		}
		if !seen[f[0]] {
			seen[f[0]] = true
			todo = append(todo, cand{py: py, pip: f[0], pyv: [2]int{major, minor}})
		}
	}
	// The venvs, made at once (each takes seconds).
	made := make([]*Pip, len(todo))
	logs := make([]string, len(todo))
	var wg sync.WaitGroup
	for i, c := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			venv := filepath.Join(dir, "pip-"+c.pip)
			if out, err := exec.Command(c.py, "-m", "venv", venv).CombinedOutput(); err != nil {
				logs[i] = fmt.Sprintf("%s -m venv failed, pip %s left out: %v\n%s", c.py, c.pip, err, out)
				return
			}
			python := filepath.Join(venv, "bin", "python")
			out, err := exec.Command(python, "-m", "pip", "--version").Output()
			v := strings.Fields(string(out))
			if err != nil || len(v) < 2 {
				logs[i] = fmt.Sprintf("%s: the venv's pip does not run, left out: %v", c.py, err)
				return
			}
			made[i] = &Pip{Version: v[1], Python: python, From: c.py, PythonVersion: c.pyv}
		}()
	}
	wg.Wait()
	var pips []Pip
	for i, p := range made {
		if p == nil {
			if todo[i].py == DebianPython && os.Getenv("CI") != "" {
				t.Fatalf("Debian's python3 cannot make a venv with pip (CI installs python3-venv): %s", logs[i])
			}
			t.Log(logs[i])
			continue
		}
		pips = append(pips, *p)
	}
	if len(pips) == 0 {
		t.Skip("no Python here makes a venv with pip (install python3-venv)")
	}
	return pips
}

// compareVersions compares dotted release numbers ("23.0.1" < "23.2").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
