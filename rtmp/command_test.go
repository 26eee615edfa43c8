package rtmp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// A connect command shaped like the one ffmpeg 5.1 sends when publishing
// (hand-assembled: transaction id 1, object with app/type/flashVer/tcUrl in
// ffmpeg's order). The real capture is exercised by the recorded stream test.
const ffmpegConnectHex = `
02 0007 636f6e6e656374 00 3ff0000000000000 03
0003 617070 02 0004 6c697665
0004 74797065 02 000a 6e6f6e70726976617465
0008 666c61736856657202 0024 464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e31303029
0005 746355726c 02 001a 72746d703a2f2f3132372e302e302e313a313933352f6c697665
000009`

func TestParseCommandConnect(t *testing.T) {
	b := unhex(t, ffmpegConnectHex)
	c, err := ParseCommand(Message{Type: TypeCommandAMF0, Payload: b})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := c.Object.(amf0.Object)
	if c.Name != "connect" || c.TransactionID != 1 || !ok {
		t.Fatalf("%+v", c)
	}
	if o.String("app") != "live" || o.String("type") != "nonprivate" || o.String("tcUrl") != "rtmp://127.0.0.1:1935/live" || !strings.HasPrefix(o.String("flashVer"), "FMLE/3.0") {
		t.Errorf("object %+v", o)
	}
	// Re-encoding gives the same bytes (order is kept).
	again, err := c.AppendTo(nil)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("re-encoded:\n%x\n%x (%v)", again, b, err)
	}
	// The same body as an AMF3 command (type 17): one format byte first.
	c3, err := ParseCommand(Message{Type: TypeCommandAMF3, Payload: append([]byte{0}, b...)})
	if err != nil || !reflect.DeepEqual(c3, c) {
		t.Errorf("AMF3 command: %+v %v", c3, err)
	}
}

func TestParseCommandErrors(t *testing.T) {
	if _, err := ParseCommand(Message{Type: TypeVideo}); !errors.Is(err, amf0.ErrMalformed) {
		t.Errorf("video as command: %v", err)
	}
	if _, err := ParseCommand(Message{Type: TypeCommandAMF0, Payload: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}}); !errors.Is(err, amf0.ErrMalformed) {
		t.Errorf("number as name: %v", err)
	}
}
