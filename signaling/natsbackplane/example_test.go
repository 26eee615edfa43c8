package natsbackplane_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/signaling/natsbackplane"
)

// printSink is a Collider WebSocket that prints what it is sent.
type printSink struct{ name string }

func (p *printSink) Deliver(msg string) error { fmt.Printf("%s got %s\n", p.name, msg); return nil }
func (p *printSink) Close()                   {}

// Two instances share a room through an embedded NATS server: a client
// joins on each, the third join is refused wherever it comes, and a
// message sent on instance A reaches the WebSocket registered on
// instance B. A server would pass the stores as apprtc.Config.Store.
func Example() {
	dir, _ := os.MkdirTemp("", "natsbackplane-example")
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	go ns.Start()
	defer ns.WaitForShutdown()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		fmt.Println("NATS server not ready")
		return
	}

	ctx := context.Background()
	cfg := natsbackplane.Config{Logger: slog.New(slog.DiscardHandler)}
	var rooms [2]*natsbackplane.AppRTCStore
	for i := range rooms {
		bp, err := natsbackplane.Connect(ctx, ns.ClientURL(), cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer bp.Close()
		if rooms[i], err = bp.AppRTC(ctx, apprtc.Config{}); err != nil {
			fmt.Println(err)
			return
		}
	}
	a, b := rooms[0], rooms[1]

	j1, _ := a.Join(ctx, "demo", "11111111")
	j2, _ := b.Join(ctx, "demo", "22222222")
	_, err = a.Join(ctx, "demo", "33333333")
	fmt.Println("initiators:", j1.Initiator, j2.Initiator, "third join full:", errors.Is(err, apprtc.ErrFull))

	if err := b.Register(ctx, "demo", "22222222", &printSink{"B's WebSocket"}); err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Send(ctx, "demo", "11111111", `{"type":"offer"}`); err != nil {
		fmt.Println(err)
	}
	// Output:
	// initiators: true false third join full: true
	// B's WebSocket got {"type":"offer"}
}
