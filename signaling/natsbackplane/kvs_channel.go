package natsbackplane

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/streamwire/streamwire/signaling/kvs"
)

// channelDoc is the value of key ch.HEXNAME in the PREFIX_kvs bucket: the
// channel, where its master and viewers are connected, and the messages
// kept for clients that are not. Every change is a compare-and-set on its
// revision.
type channelDoc struct {
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	Created int64             `json:"created"` // Unix ns
	TTL     time.Duration     `json:"ttl"`     // MessageTtlSeconds, ns
	Version string            `json:"version"`
	Tags    map[string]string `json:"tags,omitempty"`
	Master  *loc              `json:"master,omitempty"`
	Viewers map[string]loc    `json:"viewers,omitempty"`
	Kept    []keptMsg         `json:"kept,omitempty"`
}

// keptMsg is a message waiting for its recipient to connect.
type keptMsg struct {
	To      string `json:"to,omitempty"` // "" for the master
	Type    string `json:"t"`
	Sender  string `json:"s,omitempty"`
	Payload string `json:"p"`
	Expires int64  `json:"x"` // Unix ns on the store's kvs.Clock
}

// channelKey and connKey are the KV keys of a channel and of a client's
// lease on it. Names and client ids may hold '.', a token separator in
// keys, so they are hex-encoded; the master is "m", which hex never is.
func channelKey(name string) string { return "ch." + hex.EncodeToString([]byte(name)) }

func connKey(name, client string) string {
	c := "m"
	if client != "" {
		c = hex.EncodeToString([]byte(client))
	}
	return "lease." + hex.EncodeToString([]byte(name)) + "." + c
}

// nameOfKey returns the channel name of a channel key, or false.
func nameOfKey(key string) (string, bool) {
	const pre = "ch."
	if len(key) <= len(pre) || key[:len(pre)] != pre {
		return "", false
	}
	b, err := hex.DecodeString(key[len(pre):])
	return string(b), err == nil
}

// newChannelDoc is the doc of a new channel.
func newChannelDoc(ch kvs.Channel) *channelDoc {
	return &channelDoc{Name: ch.Name, ARN: ch.ARN, Created: ch.Created.UnixNano(), TTL: ch.MessageTTL,
		Version: ch.Version, Tags: maps.Clone(ch.Tags)}
}

// decodeChannel decodes a live channel entry.
func decodeChannel(e entry) (*channelDoc, error) {
	d := &channelDoc{}
	if err := json.Unmarshal(e.val, d); err != nil {
		return nil, fmt.Errorf("natsbackplane: channel value is not JSON: %w", err)
	}
	return d, nil
}

// decodeChannelEntry decodes a channel entry; it is nil when the channel
// does not exist.
func decodeChannelEntry(e entry) (*channelDoc, error) {
	if !e.live {
		return nil, nil
	}
	return decodeChannel(e)
}

// channel is d as a kvs.Channel.
func (d *channelDoc) channel() kvs.Channel {
	return kvs.Channel{Name: d.Name, ARN: d.ARN, Created: time.Unix(0, d.Created), MessageTTL: d.TTL,
		Version: d.Version, Tags: maps.Clone(d.Tags)}
}

// conn returns where client is connected, or nil.
func (d *channelDoc) conn(client string) *loc {
	if client == "" {
		return d.Master
	}
	if at, ok := d.Viewers[client]; ok {
		return &at
	}
	return nil
}

// setConn records client as connected at at (nil: not connected).
func (d *channelDoc) setConn(client string, at *loc) {
	switch {
	case client == "":
		d.Master = at
	case at == nil:
		delete(d.Viewers, client)
	default:
		if d.Viewers == nil {
			d.Viewers = map[string]loc{}
		}
		d.Viewers[client] = *at
	}
}

// conns returns every connection of the channel.
func (d *channelDoc) conns() map[string]loc {
	all := maps.Clone(d.Viewers)
	if all == nil {
		all = map[string]loc{}
	}
	if d.Master != nil {
		all[""] = *d.Master
	}
	return all
}

// filter keeps, in order, the kept messages for which keep is true.
func (d *channelDoc) filter(keep func(keptMsg) bool) {
	n := 0
	for _, k := range d.Kept {
		if keep(k) {
			d.Kept[n] = k
			n++
		}
	}
	clear(d.Kept[n:])
	d.Kept = d.Kept[:n]
}

// expire drops the kept messages whose time is up at now.
func (d *channelDoc) expire(now int64) { d.filter(func(k keptMsg) bool { return now < k.Expires }) }

// take removes and returns, in order, the messages kept for client.
func (d *channelDoc) take(client string) []keptMsg {
	var out []keptMsg
	d.filter(func(k keptMsg) bool {
		if k.To == client {
			out = append(out, k)
			return false
		}
		return true
	})
	return out
}

// dropOffer drops the kept SDP_OFFER from sender to to and the ICE
// candidates sender queued for to after it, as kvs.MemoryStore does.
func (d *channelDoc) dropOffer(to, sender string) {
	found := false
	d.filter(func(k keptMsg) bool {
		if k.To != to || k.Sender != sender {
			return true
		}
		if k.Type == kvs.MessageSDPOffer {
			found = true
			return false
		}
		return !(found && k.Type == kvs.MessageICECandidate)
	})
}

// keptBytes is the payload bytes of the kept messages.
func (d *channelDoc) keptBytes() (n int) {
	for _, k := range d.Kept {
		n += len(k.Payload)
	}
	return n
}

// encodeMessage is m as a delivery request carries it: the type and the
// sender, each after its length as a uvarint, then the payload.
func encodeMessage(m kvs.Message) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen16+len(m.Type)+len(m.Sender)+len(m.Payload))
	b = binary.AppendUvarint(b, uint64(len(m.Type)))
	b = append(b, m.Type...)
	b = binary.AppendUvarint(b, uint64(len(m.Sender)))
	b = append(b, m.Sender...)
	return append(b, m.Payload...)
}

// decodeMessage decodes what encodeMessage made.
func decodeMessage(b []byte) (kvs.Message, bool) {
	var m kvs.Message
	var ok bool
	if m.Type, b, ok = readString(b); !ok {
		return m, false
	}
	if m.Sender, b, ok = readString(b); !ok {
		return m, false
	}
	m.Payload = string(b)
	return m, true
}

// readString reads a uvarint length and that many bytes.
func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}
