// Command rtmpplay plays an RTMP or RTMPS stream and writes it as an FLV
// file, which ffprobe, ffplay and VLC read:
//
//	go run ./examples/rtmpplay rtmp://127.0.0.1:1935/live/cam > out.flv
//	go run ./examples/rtmpplay -duration 10s -o out.flv rtmp://127.0.0.1:1935/live/cam
//
// It stops at the end of the stream, after -duration of media, on Ctrl-C, or
// when nothing arrives for -timeout. Timestamps are rebased so the file
// starts at 0.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/streamwire/streamwire/rtmp/flv"

	"github.com/streamwire/streamwire/rtmp"
)

func main() {
	duration := flag.Duration("duration", 0, "stop after this much media time (0: until the stream ends)")
	timeout := flag.Duration("timeout", 10*time.Second, "give up when connecting or when no data arrives for this long")
	out := flag.String("o", "-", "output FLV file (- for stdout)")
	insecure := flag.Bool("insecure", false, "rtmps: do not verify the server certificate")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: rtmpplay [flags] rtmp://HOST[:PORT]/APP/NAME > out.flv\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	w := io.Writer(os.Stdout)
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			log.Error("create output", "err", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := options{URL: flag.Arg(0), Duration: *duration, Timeout: *timeout, Insecure: *insecure}
	n, err := play(ctx, opts, w)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("play", "err", err, "tags", n)
		os.Exit(1)
	}
	log.Info("done", "tags", n)
}

// options are the flags of one run.
type options struct {
	URL      string
	Duration time.Duration
	Timeout  time.Duration
	Insecure bool
}

// play plays opts.URL into w as FLV and returns the number of tags written.
func play(ctx context.Context, opts options, w io.Writer) (int, error) {
	cfg := rtmp.ClientConfig{Conn: rtmp.ConnConfig{ReadTimeout: opts.Timeout}}
	if opts.Insecure {
		cfg.TLSConfig = insecureTLS()
	}
	dctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	cl, err := rtmp.Dial(dctx, opts.URL, cfg)
	if err == nil {
		err = cl.Play(dctx)
	}
	cancel()
	if err != nil {
		if cl != nil {
			cl.Close()
		}
		return 0, err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.NetConn().Close() })
	defer stop()

	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	buf := flv.AppendHeader(nil, true, true)
	var (
		n     int
		first uint32
		start bool
	)
	for {
		m, err := cl.ReadMedia(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			bw.Write(buf)
			return n, err
		}
		ts := m.Timestamp
		if m.Type != rtmp.TypeDataAMF0 {
			if !start {
				first, start = ts, true
			}
			ts -= first // uint32 arithmetic also handles a wrap
		} else {
			ts = 0
		}
		if opts.Duration > 0 && start && time.Duration(ts)*time.Millisecond >= opts.Duration {
			break
		}
		buf = flv.AppendTag(buf, uint8(m.Type), ts, m.Payload)
		n++
		if len(buf) >= 32<<10 {
			if _, err := bw.Write(buf); err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	_, err = bw.Write(buf)
	return n, err
}
