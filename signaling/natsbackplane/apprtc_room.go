package natsbackplane

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// roomDoc is the value of key room.ROOM in the PREFIX_apprtc bucket: the
// room's participants, at most two seats and two Collider clients, with
// their queued messages. Every change is a compare-and-set on its
// revision, so that two instances never both take the last seat.
type roomDoc struct {
	Members []*member `json:"m"`
}

// member is a participant: a room-server seat, a Collider client, or both
// (the same id).
type member struct {
	ID string `json:"id"`
	// Seat and Client say what the participant holds.
	Seat   bool `json:"s,omitempty"`
	Client bool `json:"c,omitempty"`
	// At is the registered WebSocket; nil while none is.
	At *loc `json:"at,omitempty"`
	// Saved are the room-server messages saved while the seat was alone
	// (handed to the next joiner); Queue the Collider messages waiting
	// for the other client to register.
	Saved []string `json:"sq,omitempty"`
	Queue []string `json:"cq,omitempty"`
}

// maxSeats is a room's capacity, for seats and Collider clients alike.
const maxSeats = 2

// decodeRoom decodes a room entry; a key without a value is an empty room.
func decodeRoom(e entry) (*roomDoc, error) {
	d := &roomDoc{}
	if !e.live {
		return d, nil
	}
	if err := json.Unmarshal(e.val, d); err != nil {
		return nil, fmt.Errorf("natsbackplane: room value is not JSON: %w", err)
	}
	d.Members = slices.DeleteFunc(d.Members, func(m *member) bool { return m == nil })
	return d, nil
}

// seated decodes a room entry and finds client's seat in it:
// apprtc.ErrUnknownRoom for a room with no seat taken,
// apprtc.ErrUnknownClient for a client without a seat.
func seated(e entry, client string) (*roomDoc, *member, error) {
	d, err := decodeRoom(e)
	if err != nil {
		return nil, nil, err
	}
	if d.seats() == 0 {
		return nil, nil, apprtc.ErrUnknownRoom
	}
	m := d.find(client)
	if m == nil || !m.Seat {
		return nil, nil, apprtc.ErrUnknownClient
	}
	return d, m, nil
}

// find returns the member id, or nil.
func (d *roomDoc) find(id string) *member {
	for _, m := range d.Members {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// add returns the member id, adding it if needed.
func (d *roomDoc) add(id string) *member {
	if m := d.find(id); m != nil {
		return m
	}
	m := &member{ID: id}
	d.Members = append(d.Members, m)
	return m
}

// remove removes the member id.
func (d *roomDoc) remove(id string) {
	for i, m := range d.Members {
		if m.ID == id {
			d.Members = append(d.Members[:i], d.Members[i+1:]...)
			return
		}
	}
}

// seats and clients count the room's seats and Collider clients.
func (d *roomDoc) seats() (n int) {
	for _, m := range d.Members {
		if m.Seat {
			n++
		}
	}
	return n
}

func (d *roomDoc) clients() (n int) {
	for _, m := range d.Members {
		if m.Client {
			n++
		}
	}
	return n
}

// push appends msg to q unless that puts it over maxMsgs messages or
// maxBytes bytes (apprtc.ErrQueueFull).
func push(q []string, msg string, maxMsgs, maxBytes int) ([]string, error) {
	n := len(msg)
	for _, m := range q {
		n += len(m)
	}
	if len(q) >= maxMsgs || n > maxBytes {
		return q, apprtc.ErrQueueFull
	}
	return append(q, msg), nil
}

// taken are messages taken from a member's queue for delivery.
type taken struct {
	from string
	msgs []string
}
