//go:build linux

package netns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestNamespaceIsPrivate: inside, the only interface is lo, and a wildcard
// listener is reachable on loopback.
func TestNamespaceIsPrivate(t *testing.T) {
	ns := New(t)
	var ifs []net.Interface
	var ln net.Listener
	var err error
	ns.Do(func() {
		if ifs, err = net.Interfaces(); err == nil {
			ln, err = net.Listen("tcp4", "0.0.0.0:0")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Flags&net.FlagUp == 0 {
		t.Fatalf("interfaces in the namespace: %+v", ifs)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	ns.Do(func() {
		var c net.Conn
		if c, err = net.DialTimeout("tcp4", addr, time.Second); err == nil {
			c.Close()
		}
	})
	if err != nil {
		t.Fatalf("dial inside the namespace: %v", err)
	}
}

// TestRunAddsAddress: a command run in the namespace changes it, and
// sockets made with Do see the change.
func TestRunAddsAddress(t *testing.T) {
	ns := New(t)
	if err := ns.Run("ip", "addr", "add", "10.200.0.1/24", "dev", "lo"); err != nil {
		t.Fatal(err)
	}
	var c *net.UDPConn
	var err error
	ns.Do(func() { c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 200, 0, 1)}) })
	if err != nil {
		t.Fatalf("bind the added address: %v", err)
	}
	c.Close()
}

// TestStartRunsInside: a process started with Start lives in the
// namespace, not in the test's own, for as long as it runs.
func TestStartRunsInside(t *testing.T) {
	ns := New(t)
	var inside string
	var err error
	ns.Do(func() { inside, err = os.Readlink("/proc/thread-self/ns/net") })
	if err != nil {
		t.Fatal(err)
	}
	// The test's own thread, not /proc/self: that is the process's first
	// thread, which may be the one the namespace's goroutine locked.
	runtime.LockOSThread()
	outside, err := os.Readlink("/proc/thread-self/ns/net")
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	if inside == outside {
		t.Fatalf("the namespace's thread is in the host namespace %s", outside)
	}
	cmd := exec.Command("sleep", "30")
	if err := ns.Start(cmd); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if got != inside {
		t.Fatalf("the process is in %s, want the namespace's %s (the test's is %s)", got, inside, outside)
	}
}
