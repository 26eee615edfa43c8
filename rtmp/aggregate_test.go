package rtmp

import (
	"errors"
	"testing"

	"github.com/streamwire/streamwire/rtmp/flv"
)

func TestAggregateIter(t *testing.T) {
	var body []byte
	body = flv.AppendTag(body, flv.TagVideo, 1000, []byte{0x17, 1, 0, 0, 0})
	body = flv.AppendTag(body, flv.TagAudio, 1023, []byte{0xAF, 1, 5})
	body = flv.AppendTag(body, flv.TagVideo, 1040, []byte{0x27, 1, 0, 0, 0})
	m := Message{ChunkStreamID: 6, Type: TypeAggregate, StreamID: 1, Timestamp: 50, Payload: body}
	it := NewAggregateIter(m)
	var sub Message
	var got []Message
	for it.Next(&sub) {
		got = append(got, sub)
	}
	if it.Err() != nil || len(got) != 3 {
		t.Fatalf("%d sub-messages, %v", len(got), it.Err())
	}
	if got[0].Timestamp != 50 || got[1].Timestamp != 73 || got[2].Timestamp != 90 || got[1].Type != TypeAudio || got[2].StreamID != 1 || len(got[1].Payload) != 3 {
		t.Errorf("%+v", got)
	}
	it = NewAggregateIter(Message{Payload: body[:len(body)-10]})
	for it.Next(&sub) {
	}
	if !errors.Is(it.Err(), flv.ErrMalformed) {
		t.Errorf("truncated: %v", it.Err())
	}
	if a := testing.AllocsPerRun(100, func() {
		it := NewAggregateIter(m)
		var sub Message
		for it.Next(&sub) {
		}
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}
