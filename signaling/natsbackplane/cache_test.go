package natsbackplane

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// TestDocCache: entries at a later revision win, the watch's revisions
// drop older entries, a full cache empties, and nothing is cached while no
// watch runs.
func TestDocCache(t *testing.T) {
	c := newDocCache(2)
	c.put("room.a", entry{rev: 1, live: true})
	_, ok := c.get("room.a")
	assert.False(t, ok, "cached without a watch")

	c.setWatching(true)
	c.put("room.a", entry{rev: 5, live: true})
	c.put("room.a", entry{rev: 4, live: true})
	d, ok := c.get("room.a")
	require.True(t, ok)
	assert.Equal(t, uint64(5), d.e.rev, "an older revision replaced a newer one")

	c.setDoc("room.a", 4, "stale")
	c.setDoc("room.a", 5, "doc")
	d, _ = c.get("room.a")
	assert.Equal(t, "doc", d.doc)

	c.changed("room.a", 5) // our own write, seen by the watch
	_, ok = c.get("room.a")
	assert.True(t, ok, "dropped for its own revision")
	c.changed("room.a", 6)
	_, ok = c.get("room.a")
	assert.False(t, ok, "kept after another writer's revision")

	c.put("room.a", entry{rev: 7})
	c.put("room.b", entry{rev: 8})
	c.put("room.c", entry{rev: 9})
	_, okA := c.get("room.a")
	_, okC := c.get("room.c")
	assert.False(t, okA, "not emptied at its size")
	assert.True(t, okC)

	c.setWatching(false)
	_, ok = c.get("room.c")
	assert.False(t, ok, "kept after the watch ended")
}

// TestAppRTCSendWithoutKVReads: once the room is cached, messages between
// instances cost no KV read, and a change made on the other instance
// reaches the cache through the watch.
func TestAppRTCSendWithoutKVReads(t *testing.T) {
	ns := startNATS(t)
	a, b := newInstance(t, ns.ClientURL(), options{bp: testConfig()}), newInstance(t, ns.ClientURL(), options{bp: testConfig()})
	ja, jb := a.join("cached"), b.join("cached")
	wa := a.collider("cached", ja.Params.ClientID)
	wb := b.collider("cached", jb.Params.ClientID)
	waitBound(t, a, 1)
	waitBound(t, b, 1)
	wa.SendMsg("first")
	assert.Equal(t, "first", wb.RecvMsg())

	reads := a.bp.Stats().KVReads
	for i := range 20 {
		wa.SendMsg("m" + strconv.Itoa(i))
		assert.Equal(t, "m"+strconv.Itoa(i), wb.RecvMsg())
	}
	assert.Equal(t, reads, a.bp.Stats().KVReads, "messages read the room from the bucket")
	assert.GreaterOrEqual(t, a.bp.Stats().CacheHits, uint64(20))

	// B's client leaves and its WebSocket closes: A's cached room is
	// dropped by the watch, and A's next message is queued on a fresh read.
	_ = wb.C.CloseNow()
	waitBound(t, b, 0)
	require.Eventually(t, func() bool {
		_, ok := a.as.b.cache.get(roomKey("cached"))
		return !ok
	}, 5*time.Second, 10*time.Millisecond, "B's change did not reach A's cache")
	wa.SendMsg("queued")
	wb2 := b.collider("cached", jb.Params.ClientID)
	assert.Equal(t, "queued", wb2.RecvMsg())
}

// TestAppRTCStaleCache: decisions taken on a stale cached room are taken
// again on a fresh read. A join that the stale room would seat loses its
// compare-and-set and answers FULL; a join that the stale room would
// refuse as FULL is checked again and seated.
func TestAppRTCStaleCache(t *testing.T) {
	ns := startNATS(t)
	a, b := newInstance(t, ns.ClientURL(), options{bp: testConfig()}), newInstance(t, ns.ClientURL(), options{bp: testConfig()})
	ctx := context.Background()
	key := roomKey("stale")
	ja := a.join("stale")
	require.Equal(t, apprtc.ResultSuccess, ja.Result)
	oneSeat, err := a.as.b.get(ctx, key)
	require.NoError(t, err)
	jb := a.join("stale")
	require.Equal(t, apprtc.ResultSuccess, jb.Result)

	// B's cache says one seat is free; the room is full. The stale entry
	// gets a revision the watch's updates do not pass, which would drop
	// it before the join reads it.
	stale := func(e entry) {
		e.rev = 1 << 40
		b.as.b.cache.drop(key)
		b.as.b.cache.put(key, e)
	}
	stale(oneSeat)
	conflicts := b.bp.Stats().Conflicts
	assert.Equal(t, apprtc.ResultFull, b.join("stale").Result)
	assert.Greater(t, b.bp.Stats().Conflicts, conflicts, "the stale room's write did not lose")

	// B's cache says the room is full; a seat is free. The leaver keeps its
	// WebSocket, and so its lease: only the room tells that it left.
	a.collider("stale", jb.Params.ClientID)
	var full entry
	require.Eventually(t, func() bool {
		full, err = a.as.b.get(ctx, key)
		require.NoError(t, err)
		d, err := decodeRoom(full)
		require.NoError(t, err)
		m := d.find(jb.Params.ClientID)
		return m != nil && m.At != nil
	}, 5*time.Second, 10*time.Millisecond, "the WebSocket did not register")
	status, _ := a.do(http.MethodPost, "/leave/stale/"+jb.Params.ClientID, "")
	require.Equal(t, http.StatusOK, status)
	stale(full)
	j := b.join("stale")
	assert.Equal(t, apprtc.ResultSuccess, j.Result, "FULL decided on a stale cached room")
	assert.Equal(t, "false", j.Params.IsInitiator)
}
