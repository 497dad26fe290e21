package tasks

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A Runner's owner name is HOST/PID/RANDOM@NODE. NODE names the kernel boot
// and process-id namespace the Runner runs in: within one node a process id
// names one process, so a Runner of the same node whose process has exited
// (a serve killed or crashed) is known to be gone at once, and its running
// tasks need not wait for their lease to run out before they are marked
// interrupted. Runners elsewhere, or of an older pkgvc without NODE, are
// judged by their lease alone.

// node is this process's node, or "" where it cannot be told.
var node = localNode()

func localNode() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(boot)) + "\x00" + ns))
	return hex.EncodeToString(sum[:6])
}

// newOwner names a new Runner of this process.
func newOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	o := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	if node != "" {
		o += "@" + node
	}
	return o
}

// ownerExited reports whether owner is a Runner of this node whose process
// no longer exists. A reused process id makes it report false: the lease
// then decides, as for any Runner it cannot judge.
func ownerExited(owner string) bool {
	i := strings.LastIndexByte(owner, '@')
	if i < 0 || node == "" || owner[i+1:] != node {
		return false
	}
	name := owner[:i]
	parts := strings.Split(name, "/")
	if len(parts) < 3 {
		return false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false // this process's Runners stop through Close
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
