package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp"
)

// nginxRTMPConfig is a one-process nginx-rtmp (master_process off: the
// single process serves, as one worker would) on loopback.
const nginxRTMPConfig = `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log %[1]s/error.log info;
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

// startNginxRTMP starts nginx with the RTMP module on a free port and
// returns the port once it accepts connections.
func startNginxRTMP(t *testing.T) int {
	t.Helper()
	dir := t.TempDir()
	port := freeTCPPort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxRTMPConfig, dir, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, 5*time.Minute, "nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", tail(string(log), 3000))
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("nginx-rtmp did not start listening")
	return 0
}

// TestRTMPClientNginx: our client publishes H.264/AAC to nginx-rtmp and
// another of our clients plays it back from nginx, including timestamps
// that cross 0xFFFFFF.
func TestRTMPClientNginx(t *testing.T) {
	src := makeFLV(t, 6)
	port := startNginxRTMP(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/ours", port)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- publishFLV(ctx, url, src, 0xFFFFFF-2000, 1, rtmp.ClientConfig{}) }()
	time.Sleep(500 * time.Millisecond) // nginx-rtmp answers play of a missing stream by waiting, but start on data
	st, err := playWithClient(ctx, url, 100, rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.videoSeq || !st.audioSeq || st.video < 100 || st.audio == 0 || !st.monotonic {
		t.Errorf("played from nginx-rtmp: %+v", st)
	}
	if st.lastVideoTS <= 0xFFFFFF {
		t.Errorf("timestamps from nginx-rtmp stop at %d, want past 16777215 (first %d)", st.lastVideoTS, st.firstTS)
	}
	if err := <-errc; err != nil {
		t.Errorf("publish to nginx-rtmp: %v", err)
	}
}
