package rtmp

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// sessionSeed builds a chunk stream a client could send after the
// handshake: the given commands on stream 0 or 1 and optional media.
func sessionSeed(cmds []Command, media []Media) []byte {
	var b []byte
	w := ChunkWriter{chunkSize: DefaultChunkSize, streams: map[uint32]*outStream{}}
	for i, c := range cmds {
		sid := uint32(0)
		if c.Name == "publish" || c.Name == "play" {
			sid = 1
		}
		c.TransactionID = float64(i + 1)
		m, err := c.Message(sid)
		if err != nil {
			panic(err)
		}
		b, _ = w.AppendMessage(b, m)
	}
	for _, m := range media {
		b, _ = w.AppendMessage(b, Message{ChunkStreamID: MediaCSID(m.Type), Type: m.Type, StreamID: 1, Timestamp: m.Timestamp, Payload: m.Payload})
	}
	return b
}

func fuzzSeeds() [][]byte {
	connect := Command{Name: "connect", Object: amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://h/live"}}}
	create := Command{Name: "createStream"}
	publish := Command{Name: "publish", Args: []any{"cam?key=1", "live"}}
	play := Command{Name: "play", Args: []any{"rec", -2000.0}}
	return [][]byte{
		sessionSeed([]Command{connect, {Name: "releaseStream", Args: []any{"cam"}}, {Name: "FCPublish", Args: []any{"cam"}}, create, publish}, testMedia()[:6]),
		sessionSeed([]Command{connect, create, play}, nil),
		sessionSeed([]Command{connect, create, publish, {Name: "FCUnpublish"}, {Name: "deleteStream", Args: []any{1.0}}}, nil),
		sessionSeed([]Command{create, connect, connect}, nil),
	}
}

// FuzzServerSession feeds arbitrary chunk streams to a server session after
// a valid handshake over net.Pipe: the session must end (bounded by its
// timeouts) without panicking, whatever the bytes.
func FuzzServerSession(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	if rec, err := os.ReadFile(recordingPath); err == nil {
		f.Add(rec[:min(len(rec), 8192)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &memHandler{published: map[string][]Media{"live/rec": testMedia()[:20]}}
		srv := NewServer(ServerConfig{Handler: h, IdleTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
			Reader: ReaderConfig{MaxMessageSize: 1 << 20}})
		cli, sc := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(ctx, sc) }()
		if _, err := ClientHandshake(ctx, cli, HandshakeConfig{Simple: true}); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		go io.Copy(io.Discard, cli) // what the server answers
		cli.SetWriteDeadline(time.Now().Add(time.Second))
		cli.Write(data)
		cli.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("server session did not end")
		}
	})
}
