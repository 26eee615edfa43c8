package sockio

import "testing"

func TestConsume(t *testing.T) {
	bufs := [][]byte{[]byte("abc"), []byte("de"), []byte("fgh")}
	bufs = consume(bufs, 4)
	if len(bufs) != 2 || string(bufs[0]) != "e" || string(bufs[1]) != "fgh" {
		t.Fatalf("consume(4) = %q", bufs)
	}
	if bufs = consume(bufs, 0); len(bufs) != 2 || string(bufs[0]) != "e" {
		t.Fatalf("consume(0) = %q", bufs)
	}
	if bufs = consume(bufs, 4); len(bufs) != 0 {
		t.Fatalf("consume all = %q", bufs)
	}
}
