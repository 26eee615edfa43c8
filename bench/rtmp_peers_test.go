package bench

// Processes of the RTMP fan-out benchmark: our relay built into a temporary
// binary, and nginx-rtmp with a generated one-process configuration.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/bench/internal/wheplab"
)

// rtmpServerProc is a server process under measurement.
type rtmpServerProc struct {
	Addr string
	cmd  *exec.Cmd
}

// CPUSeconds returns the CPU time the process's threads have run, from the
// scheduler's clock (wheplab.ProcCPU): exact for processes that wake
// thousands of times a second in short bursts, as servers with many
// players do, where utime+stime is sampled at 100 Hz ticks.
func (p *rtmpServerProc) CPUSeconds() (float64, error) { return wheplab.ProcCPU(p.cmd.Process.Pid) }

// TickCPUSeconds returns utime+stime (wheplab.ProcTickCPU), the
// tick-sampled figure top and ps show.
func (p *rtmpServerProc) TickCPUSeconds() (float64, error) {
	return wheplab.ProcTickCPU(p.cmd.Process.Pid)
}

func (p *rtmpServerProc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// buildOurRTMPServer builds ./rtmp_server into a temporary directory of b,
// once per benchmark: a build between two measured servers would leave
// the machine busier for the one that follows it.
func buildOurRTMPServer(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "rtmp_server")
	if out, err := exec.Command("go", "build", "-o", bin, "./rtmp_server").CombinedOutput(); err != nil {
		b.Fatalf("go build rtmp_server: %v\n%s", err, out)
	}
	return bin
}

// startOurRTMPServer runs bin (from buildOurRTMPServer) on a free loopback
// port with GOMAXPROCS=1 and args. Set RTMP_SERVER_CPUPROFILE=/path to have
// it write a CPU profile.
func startOurRTMPServer(b *testing.B, bin string, args ...string) *rtmpServerProc {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	// One P, like nginx-rtmp's one process: a per-core comparison, and no
	// scheduler spinning between two Ps on a 2-core machine.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &rtmpServerProc{cmd: cmd}
	b.Cleanup(p.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		b.Fatalf("rtmp_server said %q: %v", line, err)
	}
	p.Addr = addr
	return p
}

// nginxRTMPConf runs nginx-rtmp as one process (master_process off: the
// process that serves is the one measured), like one worker.
const nginxRTMPConf = `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 4096; }
rtmp {
    server {
        listen 127.0.0.1:%[2]d;
        chunk_size 4096;
        application live { live on; }
    }
}
`

// startNginxRTMP runs nginx-rtmp on a free loopback port.
func startNginxRTMP(b *testing.B) *rtmpServerProc {
	b.Helper()
	dir := b.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxRTMPConf, dir, port)), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("nginx: %v", err)
	}
	p := &rtmpServerProc{cmd: cmd, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	b.Cleanup(p.stop)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", p.Addr); err == nil {
			c.Close()
			return p
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	b.Fatalf("nginx-rtmp did not listen:\n%s", log)
	return nil
}
