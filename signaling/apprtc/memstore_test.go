package apprtc

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

// TestMemoryStoreRoomServer: Join, Save and Leave as apprtc.py's
// add_client_to_room, save_message_from_client and remove_client_from_room.
func TestMemoryStoreRoomServer(t *testing.T) {
	s := NewMemoryStore(Config{})
	defer s.Close()
	j, err := s.Join(bg, "r", "a")
	require.NoError(t, err)
	assert.Equal(t, Joined{Initiator: true, Messages: []string{}}, j)
	_, err = s.Join(bg, "r", "a")
	assert.ErrorIs(t, err, ErrDuplicateClient)
	for _, m := range []string{"1", "2"} {
		saved, err := s.Save(bg, "r", "a", m)
		require.NoError(t, err)
		assert.True(t, saved)
	}
	_, err = s.Save(bg, "r", "zz", "x")
	assert.ErrorIs(t, err, ErrUnknownClient)
	_, err = s.Save(bg, "nope", "a", "x")
	assert.ErrorIs(t, err, ErrUnknownRoom)

	j, err = s.Join(bg, "r", "b")
	require.NoError(t, err)
	assert.Equal(t, Joined{Messages: []string{"1", "2"}}, j)
	saved, err := s.Save(bg, "r", "a", "3")
	require.NoError(t, err)
	assert.False(t, saved, "with two seats the message is forwarded, not saved")
	_, err = s.Join(bg, "r", "c")
	assert.ErrorIs(t, err, ErrFull)
	n, err := s.Occupancy(bg, "r")
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	require.NoError(t, s.Leave(bg, "r", "a"))
	assert.ErrorIs(t, s.Leave(bg, "r", "a"), ErrUnknownClient)
	j, err = s.Join(bg, "r", "c")
	require.NoError(t, err)
	assert.False(t, j.Initiator)
	require.NoError(t, s.Leave(bg, "r", "b"))
	require.NoError(t, s.Leave(bg, "r", "c"))
	assert.ErrorIs(t, s.Leave(bg, "r", "c"), ErrUnknownRoom)
	assert.Equal(t, [4]int{}, counts(s))

	require.NoError(t, s.Close())
	_, err = s.Join(bg, "r", "a")
	assert.ErrorIs(t, err, ErrClosed)
}

// TestMemoryStoreCollider: Register, Send, Deregister and Remove as
// collider's room.go and client.go.
func TestMemoryStoreCollider(t *testing.T) {
	s := NewMemoryStore(Config{})
	defer s.Close()
	require.NoError(t, s.Send(bg, "r", "a", "1")) // alone: queued on a
	ra, rb := &recorder{}, &recorder{}
	require.NoError(t, s.Register(bg, "r", "a", ra))
	assert.Empty(t, ra.msgs, "a's own queue is not delivered to a")
	assert.ErrorIs(t, s.Register(bg, "r", "a", &recorder{}), ErrDuplicatedRegistration)
	require.NoError(t, s.Send(bg, "r", "a", "2")) // b unknown: queued
	require.NoError(t, s.Register(bg, "r", "b", rb))
	assert.Equal(t, []string{"1", "2"}, rb.msgs)
	assert.ErrorIs(t, s.Register(bg, "r", "c", &recorder{}), ErrRoomCapacity)
	assert.ErrorIs(t, s.Send(bg, "r", "c", "x"), ErrRoomCapacity)
	require.NoError(t, s.Send(bg, "r", "b", "3"))
	assert.Equal(t, []string{"3"}, ra.msgs)

	// A stale socket's deregister does nothing.
	require.NoError(t, s.Deregister(bg, "r", "a", &recorder{}))
	assert.Equal(t, [4]int{1, 0, 2, 2}, counts(s))
	require.NoError(t, s.Deregister(bg, "r", "a", ra))
	require.NoError(t, s.Send(bg, "r", "b", "4")) // a away: queued on b
	ra2 := &recorder{}
	require.NoError(t, s.Register(bg, "r", "a", ra2))
	assert.Equal(t, []string{"4"}, ra2.msgs)

	require.NoError(t, s.Remove(bg, "r", "a"))
	assert.True(t, ra2.closed, "Remove closes the socket")
	require.NoError(t, s.Remove(bg, "r", "a"))
	require.NoError(t, s.Remove(bg, "r", "b"))
	assert.Equal(t, [4]int{}, counts(s))
}

// TestMemoryStoreRemoveFreesSeat: removing a Collider client frees its
// seat too (the "bye" upstream's room server never handled), and the seat
// left becomes the initiator.
func TestMemoryStoreRemoveFreesSeat(t *testing.T) {
	s := NewMemoryStore(Config{})
	defer s.Close()
	for _, c := range []string{"a", "b"} {
		_, err := s.Join(bg, "r", c)
		require.NoError(t, err)
		require.NoError(t, s.Register(bg, "r", c, &recorder{}))
	}
	require.NoError(t, s.Remove(bg, "r", "a"))
	j, err := s.Join(bg, "r", "c")
	require.NoError(t, err)
	assert.False(t, j.Initiator, "b is the initiator now")
}

// TestMemoryStoreTimers: a seat not registered within RegisterTimeout and
// a client not back within ReconnectGrace are removed; a registration in
// time stops the timer; Close stops them all.
func TestMemoryStoreTimers(t *testing.T) {
	s := NewMemoryStore(Config{RegisterTimeout: short, ReconnectGrace: short})
	defer s.Close()
	_, err := s.Join(bg, "r", "ghost")
	require.NoError(t, err)
	_, err = s.Join(bg, "r", "kept")
	require.NoError(t, err)
	rk := &recorder{}
	require.NoError(t, s.Register(bg, "r", "kept", rk))
	require.Eventually(t, func() bool { return counts(s) == [4]int{1, 1, 1, 1} }, 10*short, 5*time.Millisecond)
	time.Sleep(2 * short)
	assert.Equal(t, [4]int{1, 1, 1, 1}, counts(s), "the registered seat was freed")

	require.NoError(t, s.Deregister(bg, "r", "kept", rk))
	require.Eventually(t, func() bool { return counts(s) == [4]int{} }, 10*short, 5*time.Millisecond)

	_, err = s.Join(bg, "q", "a")
	require.NoError(t, err)
	require.NoError(t, s.Close())
	time.Sleep(2 * short) // the timer was stopped: nothing runs on a closed store
}

// TestMemoryStoreRacingJoins: of many joins racing for one room, exactly
// two get a seat and one of them is the initiator.
func TestMemoryStoreRacingJoins(t *testing.T) {
	s := NewMemoryStore(Config{})
	defer s.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, initiators, full int
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := s.Join(bg, "r", strconv.Itoa(i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				if j.Initiator {
					initiators++
				}
			case assert.ErrorIs(t, err, ErrFull):
				full++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, [3]int{2, 1, 48}, [3]int{ok, initiators, full})
}

func counts(s *MemoryStore) [4]int {
	r, se, c, reg := s.Counts()
	return [4]int{r, se, c, reg}
}
