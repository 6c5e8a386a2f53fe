package process

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// Identity names the process space this process runs in: the
// kernel's boot id and the process's PID namespace. Two processes with
// the same identity see the same process ids. "" when it cannot tell.
func Identity() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + " " + ns
}

// Gone reports whether the process pid of the process space
// theirs has provably ended: it is in this process's own space (ours),
// it is not this process, and the kernel knows no process pid. A process
// that still exists (or a zombie, or a new process that reuses the id)
// is not gone.
func Gone(ours, theirs string, pid int) bool {
	if ours == "" || ours != theirs || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
