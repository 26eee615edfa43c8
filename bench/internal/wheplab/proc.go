package wheplab

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SelfCPU returns the CPU seconds this process has run (ProcCPU of itself).
func SelfCPU() (float64, error) { return ProcCPU(os.Getpid()) }

// ProcCPU returns the CPU seconds the threads of process pid have run,
// summed from /proc/PID/task/*/schedstat (the first field, nanoseconds on
// CPU by the scheduler's clock). Unlike utime+stime (ProcTickCPU), which the
// kernel samples at 100 Hz ticks, it is exact for processes that wake
// thousands of times a second in short bursts, as media servers do.
func ProcCPU(pid int) (float64, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var ns uint64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread just exited
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return 0, fmt.Errorf("bad schedstat %q", b)
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad schedstat %q", b)
		}
		ns += v
	}
	return float64(ns) / 1e9, nil
}

// ProcTickCPU returns utime+stime of process pid from /proc/PID/stat
// (fields 14 and 15, in 1/100 s ticks), the figure top and ps show.
func ProcTickCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name (field 2) is in parentheses and may hold spaces.
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", s)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc stat: %q", s)
	}
	return float64(utime+stime) / 100, nil
}

// ProcStatus returns the fields of /proc/PID/status that tell a process's
// size: VmRSS in bytes and Threads.
func ProcStatus(pid int) (rss int64, threads int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("bad VmRSS %q", v)
			}
			rss = kb << 10
		case "Threads":
			threads, _ = strconv.Atoi(f[0])
		}
	}
	return rss, threads, nil
}

// ProcUDPDrops sums the drops column of /proc/PID/net/udp (datagrams the
// kernel discarded, mostly for a full receive buffer) over the UDP sockets
// process pid holds, found by their inodes in /proc/PID/fd.
func ProcUDPDrops(pid int) (uint64, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	inodes := make(map[string]bool, len(fds))
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/udp", pid))
	if err != nil {
		return 0, err
	}
	var drops uint64
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) < 13 || !inodes[f[9]] {
			continue
		}
		d, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad /proc net/udp line %q", line)
		}
		drops += d
	}
	return drops, nil
}
