package stun

import (
	"encoding/binary"
	"fmt"
)

// Priority returns PRIORITY (RFC 8445 §7.1.1).
func (m *Message) Priority() (uint32, error) { return m.Uint32(AttrPriority) }

// UseCandidate reports whether USE-CANDIDATE is present (RFC 8445 §7.1.2).
func (m *Message) UseCandidate() bool { return m.Has(AttrUseCandidate) }

// ICEControlling returns the tie-breaker of ICE-CONTROLLING (RFC 8445 §7.1.3).
func (m *Message) ICEControlling() (uint64, error) { return m.Uint64(AttrICEControlling) }

// ICEControlled returns the tie-breaker of ICE-CONTROLLED (RFC 8445 §7.1.3).
func (m *Message) ICEControlled() (uint64, error) { return m.Uint64(AttrICEControlled) }

// GoogNetworkInfo returns Chromium's GOOG-NETWORK-INFO: the sender's network
// id and network cost.
func (m *Message) GoogNetworkInfo() (id, cost uint16, err error) {
	v, err := m.Uint32(AttrGoogNetworkInfo)
	return uint16(v >> 16), uint16(v), err
}

// Uint32 returns a 4-byte attribute of type t as a big-endian integer.
func (m *Message) Uint32(t AttrType) (uint32, error) {
	v, err := m.Get(t)
	if err != nil {
		return 0, err
	}
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: %s of %d bytes, want 4", ErrBadAttribute, t, len(v))
	}
	return binary.BigEndian.Uint32(v), nil
}

// Uint64 returns an 8-byte attribute of type t as a big-endian integer.
func (m *Message) Uint64(t AttrType) (uint64, error) {
	v, err := m.Get(t)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: %s of %d bytes, want 8", ErrBadAttribute, t, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// AddPriority appends PRIORITY (RFC 8445 §7.1.1).
func (b *Builder) AddPriority(p uint32) { b.AddUint32(AttrPriority, p) }

// AddUseCandidate appends the empty USE-CANDIDATE (RFC 8445 §7.1.2).
func (b *Builder) AddUseCandidate() { b.Add(AttrUseCandidate, nil) }

// AddICEControlling appends ICE-CONTROLLING with tie-breaker tb (RFC 8445 §7.1.3).
func (b *Builder) AddICEControlling(tb uint64) { b.AddUint64(AttrICEControlling, tb) }

// AddICEControlled appends ICE-CONTROLLED with tie-breaker tb (RFC 8445 §7.1.3).
func (b *Builder) AddICEControlled(tb uint64) { b.AddUint64(AttrICEControlled, tb) }

// AddGoogNetworkInfo appends Chromium's GOOG-NETWORK-INFO.
func (b *Builder) AddGoogNetworkInfo(id, cost uint16) {
	b.AddUint32(AttrGoogNetworkInfo, uint32(id)<<16|uint32(cost))
}

// GoogPingVersion is the GOOG-PING version Chromium announces and expects in
// GOOG-MISC-INFO (index 0) when the field trial enabling GOOG-PING is on.
const GoogPingVersion = 1

// GoogMiscInfo appends to dst the uint16 list of Chromium's GOOG-MISC-INFO.
// Index 0 is the GOOG-PING version the sender supports.
func (m *Message) GoogMiscInfo(dst []uint16) ([]uint16, error) {
	v, err := m.Get(AttrGoogMiscInfo)
	if err != nil {
		return dst, err
	}
	if len(v)%2 != 0 {
		return dst, fmt.Errorf("%w: GOOG-MISC-INFO of %d bytes", ErrBadAttribute, len(v))
	}
	for i := 0; i < len(v); i += 2 {
		dst = append(dst, binary.BigEndian.Uint16(v[i:]))
	}
	return dst, nil
}

// AddGoogMiscInfo appends Chromium's GOOG-MISC-INFO. A Binding success
// response with GOOG-MISC-INFO [GoogPingVersion] tells Chromium that the
// server answers GOOG-PING.
func (b *Builder) AddGoogMiscInfo(values ...uint16) {
	n := 2 * len(values)
	if b.begin(AttrGoogMiscInfo, n) {
		for _, v := range values {
			b.buf = binary.BigEndian.AppendUint16(b.buf, v)
		}
		b.end(n)
	}
}
