//go:build linux

// Package netns gives tests a private network namespace, so that a test can
// bind wildcard addresses, add addresses and routes, and run peers without
// touching the host's network.
//
// A Namespace is one OS thread moved into a new network namespace
// (unshare(CLONE_NEWNET)) with its loopback interface up. Sockets created by
// functions run with Do live in that namespace for their whole life, from
// whichever goroutine later uses them; so do processes started from Do with
// os/exec, as Start does (a child inherits the thread's namespace). It needs
// CAP_SYS_ADMIN: root, as on this project's CI machines.
package netns

import (
	"fmt"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Namespace is a private network namespace held by one locked OS thread.
type Namespace struct {
	do   chan func()
	done chan struct{}
}

// New creates a namespace with lo up (127.0.0.1/8 and ::1) and closes it
// when t ends. It fails t if the namespace cannot be created.
func New(t testing.TB) *Namespace {
	t.Helper()
	ns, err := Create()
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(ns.Close)
	return ns
}

// Create creates a namespace; Close releases it.
func Create() (*Namespace, error) {
	ns := &Namespace{do: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		// The thread never unlocks: when this goroutine returns, the
		// runtime ends the thread, and the namespace goes with it once
		// its last socket is closed.
		runtime.LockOSThread()
		defer close(ns.done)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := linkUp("lo"); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for f := range ns.do {
			f()
		}
	}()
	if err := <-ready; err != nil {
		<-ns.done
		return nil, err
	}
	return ns, nil
}

// Do runs f on the namespace's thread and returns when f returns. f must not
// call runtime.UnlockOSThread or start goroutines that expect the namespace:
// only f itself runs there.
func (ns *Namespace) Do(f func()) {
	ran := make(chan struct{})
	ns.do <- func() { defer close(ran); f() }
	<-ran
}

// Run runs a command (for example "ip addr add 127.0.0.2/8 dev lo") inside
// the namespace and returns its combined output on failure.
func (ns *Namespace) Run(name string, args ...string) error {
	var err error
	ns.Do(func() {
		var out []byte
		if out, err = exec.Command(name, args...).CombinedOutput(); err != nil {
			err = fmt.Errorf("%s %v: %w: %s", name, args, err, out)
		}
	})
	return err
}

// Start starts cmd inside the namespace (exec.Cmd.Start on its thread, so
// that the child and all its descendants inherit the namespace) and
// returns Start's error. The caller waits for cmd as usual; the process
// outlives Close, and keeps the namespace alive, until it exits.
func (ns *Namespace) Start(cmd *exec.Cmd) error {
	var err error
	ns.Do(func() { err = cmd.Start() })
	return err
}

// Close ends the namespace's thread. Sockets still open keep the namespace
// alive until they are closed.
func (ns *Namespace) Close() {
	select {
	case <-ns.done:
	default:
		close(ns.do)
		<-ns.done
	}
}

// linkUp sets IFF_UP on the named interface of the current thread's
// namespace.
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS %s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS %s: %w", name, err)
	}
	return nil
}
