package natsbackplane

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// TestAppRTCCallAcrossInstances: a client joins on instance A and saves its
// offer, the second joins on instance B and gets it, and the Collider
// messages flow both ways between the WebSockets on A and B, one of them
// queued while A's client had not registered yet.
func TestAppRTCCallAcrossInstances(t *testing.T) {
	ns := startNATS(t)
	a, b := newInstance(t, ns.ClientURL(), options{bp: testConfig()}), newInstance(t, ns.ClientURL(), options{bp: testConfig()})

	ja := a.join("call")
	require.Equal(t, apprtc.ResultSuccess, ja.Result)
	assert.Equal(t, "true", ja.Params.IsInitiator)
	status, body := a.do(http.MethodPost, "/message/call/"+ja.Params.ClientID, `{"type":"offer"}`)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"result":"SUCCESS"}`, body)

	jb := b.join("call")
	require.Equal(t, apprtc.ResultSuccess, jb.Result)
	assert.Equal(t, "false", jb.Params.IsInitiator)
	assert.Equal(t, []string{`{"type":"offer"}`}, jb.Params.Messages, "A's saved offer, handed over by B")
	assert.Equal(t, apprtc.ResultFull, a.join("call").Result)
	assert.Equal(t, apprtc.ResultFull, b.join("call").Result)

	wb := b.collider("call", jb.Params.ClientID)
	// B's answer goes through /message while A's client has no WebSocket:
	// queued on B's client, delivered when A's registers.
	status, body = b.do(http.MethodPost, "/message/call/"+jb.Params.ClientID, `{"type":"answer"}`)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"result":"SUCCESS"}`, body)
	wa := a.collider("call", ja.Params.ClientID)
	assert.Equal(t, `{"type":"answer"}`, wa.RecvMsg())

	for i := range 5 {
		wa.SendMsg("from A " + strconv.Itoa(i))
		assert.Equal(t, "from A "+strconv.Itoa(i), wb.RecvMsg())
		wb.SendMsg("from B " + strconv.Itoa(i))
		assert.Equal(t, "from B "+strconv.Itoa(i), wa.RecvMsg())
	}
	// Each side counts a message once the other has answered the request.
	require.Eventually(t, func() bool {
		sa, sb := a.bp.Stats(), b.bp.Stats()
		return sa.Forwarded == 5 && sb.Received == 5 && sb.Forwarded == 5 && sa.Received == 5
	}, 5*time.Second, 10*time.Millisecond, "%+v %+v", a.bp.Stats(), b.bp.Stats())
	assert.Equal(t, 1, a.bp.Stats().Bound)

	// A leaves through B; B's client is the initiator of whoever comes next.
	status, _ = b.do(http.MethodPost, "/leave/call/"+ja.Params.ClientID, "")
	require.Equal(t, http.StatusOK, status)
	jc := a.join("call")
	require.Equal(t, apprtc.ResultSuccess, jc.Result)
	assert.Equal(t, "false", jc.Params.IsInitiator)
}

// TestAppRTCRacingJoins: two joins race for a room's last seat on two
// instances; B's compare-and-set is held back until A's has landed, so
// B's loses, reads the room again and answers FULL. Then many joins race
// for one room on both instances at once: two seats, one initiator.
func TestAppRTCRacingJoins(t *testing.T) {
	ns := startNATS(t)
	a, b := newInstance(t, ns.ClientURL(), options{bp: testConfig()}), newInstance(t, ns.ClientURL(), options{bp: testConfig()})
	require.Equal(t, apprtc.ResultSuccess, a.join("race").Result)

	read, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func(key string) {
		if key == roomKey("race") {
			once.Do(func() { close(read); <-release })
		}
	}
	b.as.b.beforeCAS.Store(&hold)
	lost := make(chan joinAnswer, 1)
	go func() { lost <- b.join("race") }()
	<-read // B has read the room with one seat
	won := a.join("race")
	close(release)
	assert.Equal(t, apprtc.ResultSuccess, won.Result)
	assert.Equal(t, "false", won.Params.IsInitiator)
	assert.Equal(t, apprtc.ResultFull, (<-lost).Result)
	assert.GreaterOrEqual(t, b.bp.Stats().Conflicts, uint64(1), "B's compare-and-set did not lose")
	b.as.b.beforeCAS.Store(nil)

	var mu sync.Mutex
	results := map[string]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		in := a
		if i%2 == 1 {
			in = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := in.join("crowd")
			mu.Lock()
			defer mu.Unlock()
			results[j.Result]++
			if j.Params.IsInitiator == "true" {
				results["initiator"]++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, map[string]int{apprtc.ResultSuccess: 2, apprtc.ResultFull: 14, "initiator": 1}, results)
}

// TestAppRTCSeatFreedWhenInstanceDies: instance A is cut from NATS with no
// clean-up; the seat of its client stays taken until the client's lease,
// which only A refreshed, runs out, and B then seats a new client.
func TestAppRTCSeatFreedWhenInstanceDies(t *testing.T) {
	ns := startNATS(t)
	cfg := testConfig() // LeaseTTL 2 s
	a, b := newInstance(t, ns.ClientURL(), options{bp: cfg}), newInstance(t, ns.ClientURL(), options{bp: cfg})
	ja, jb := a.join("crash"), b.join("crash")
	wa := a.collider("crash", ja.Params.ClientID)
	wb := b.collider("crash", jb.Params.ClientID)
	waitBound(t, a, 1)
	waitBound(t, b, 1)
	time.Sleep(cfg.LeaseTTL) // A refreshes the lease meanwhile
	assert.Equal(t, apprtc.ResultFull, b.join("crash").Result, "A's seat was freed while A refreshed it")

	a.kill()
	killed := time.Now()
	_ = wa.C.CloseNow()
	assert.Equal(t, apprtc.ResultFull, b.join("crash").Result, "A's seat was freed at once")
	var j joinAnswer
	require.Eventually(t, func() bool {
		j = b.join("crash")
		return j.Result == apprtc.ResultSuccess
	}, 3*cfg.LeaseTTL, 100*time.Millisecond, "A's seat was not freed")
	freed := time.Since(killed)
	t.Logf("seat freed %v after the instance died (LeaseTTL %v)", freed.Round(time.Millisecond), cfg.LeaseTTL)
	assert.Less(t, freed, cfg.LeaseTTL+2*time.Second)
	assert.Equal(t, "false", j.Params.IsInitiator, "B's client is the initiator")

	// The new client calls B's through B.
	wc := b.collider("crash", j.Params.ClientID)
	wc.SendMsg("hello")
	assert.Equal(t, "hello", wb.RecvMsg())
}

// TestAppRTCRestartedInstance: instance A stops (its WebSockets close and
// deregister) and a new instance takes its place; its client registers
// there within the Collider grace, keeps its seat, and gets the messages
// B's client sent meanwhile. Then the same after A dies without clean-up:
// the new registration takes over the one the room still names on A.
func TestAppRTCRestartedInstance(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "stop", true: "crash"}[crash], func(t *testing.T) {
			ns := startNATS(t)
			o := options{bp: testConfig(), apprtc: apprtc.Config{ReconnectGrace: 5 * time.Second}}
			a, b := newInstance(t, ns.ClientURL(), o), newInstance(t, ns.ClientURL(), o)
			ja, jb := a.join("r"), b.join("r")
			wa := a.collider("r", ja.Params.ClientID)
			wb := b.collider("r", jb.Params.ClientID)
			wb.SendMsg("before")
			assert.Equal(t, "before", wa.RecvMsg())

			if crash {
				a.kill()
				_ = wa.C.CloseNow()
			} else {
				a.stop()
			}
			for i := range 3 {
				wb.SendMsg("away " + strconv.Itoa(i))
			}
			assert.Equal(t, apprtc.ResultFull, b.join("r").Result, "A's client lost its seat")

			a2 := newInstance(t, ns.ClientURL(), o)
			wa2 := a2.collider("r", ja.Params.ClientID)
			for i := range 3 {
				assert.Equal(t, "away "+strconv.Itoa(i), wa2.RecvMsg())
			}
			wa2.SendMsg("back")
			assert.Equal(t, "back", wb.RecvMsg())
			wb.SendMsg("welcome")
			assert.Equal(t, "welcome", wa2.RecvMsg())
			assert.Equal(t, apprtc.ResultFull, a2.join("r").Result)
		})
	}
}

// TestAppRTCGraceRunsOut: a client whose instance stopped and that does
// not come back loses its seat once the ReconnectGrace runs out.
func TestAppRTCGraceRunsOut(t *testing.T) {
	ns := startNATS(t)
	o := options{bp: testConfig(), apprtc: apprtc.Config{ReconnectGrace: time.Second, RegisterTimeout: time.Second}}
	a, b := newInstance(t, ns.ClientURL(), o), newInstance(t, ns.ClientURL(), o)
	ja, jb := a.join("g"), b.join("g")
	a.collider("g", ja.Params.ClientID)
	b.collider("g", jb.Params.ClientID)
	waitBound(t, a, 1)
	a.stop()
	require.Eventually(t, func() bool { return b.join("g").Result == apprtc.ResultSuccess },
		5*time.Second, 100*time.Millisecond, "the seat outlived the grace")
}

// TestAppRTCQueueLimits: the queue of a client whose peer has no
// WebSocket holds at most MaxQueuedMessages; the next message gets
// Collider's "Too many messages queued" error frame. Large messages are
// refused once the room no longer fits in a KV value.
func TestAppRTCQueueLimits(t *testing.T) {
	ns := startNATS(t)
	o := options{bp: testConfig(), apprtc: apprtc.Config{MaxQueuedMessages: 4}}
	a, b := newInstance(t, ns.ClientURL(), o), newInstance(t, ns.ClientURL(), o)
	ja, jb := a.join("q"), b.join("q")
	wa := a.collider("q", ja.Params.ClientID)
	for i := range 5 {
		wa.SendMsg("m" + strconv.Itoa(i))
	}
	assert.Equal(t, `{"msg":"","error":"Too many messages queued for the client"}`+"\n", wa.Recv())
	wb := b.collider("q", jb.Params.ClientID)
	for i := range 4 {
		assert.Equal(t, "m"+strconv.Itoa(i), wb.RecvMsg())
	}

	// Big messages: a room's value, queues included, is capped by NATS's
	// max_payload (1 MiB here), below MaxQueuedBytes' default.
	s, err := a.bp.AppRTC(t.Context(), apprtc.Config{})
	require.NoError(t, err)
	big := strings.Repeat("x", 60<<10)
	n := 0
	for ; n < 64; n++ {
		if err := s.Send(t.Context(), "big", "sender", big); err != nil {
			require.ErrorIs(t, err, apprtc.ErrQueueFull)
			break
		}
	}
	t.Logf("%d messages of %d bytes queued", n, len(big))
	assert.Less(t, n*len(big), int(a.nc.MaxPayload()), "queued past max_payload")
	assert.Greater(t, n, 10)
}

// TestAppRTCNATSDown: with the NATS server gone, the room API answers
// ERROR, GET /r/{room} 503, and a Collider register gets an error frame,
// each within the request time-out.
func TestAppRTCNATSDown(t *testing.T) {
	ns := startNATS(t)
	cfg := testConfig()
	cfg.Timeout = 500 * time.Millisecond
	a := newInstance(t, ns.ClientURL(), options{bp: cfg})
	require.Equal(t, apprtc.ResultSuccess, a.join("down").Result)
	ns.Shutdown()
	ns.WaitForShutdown()

	start := time.Now()
	assert.Equal(t, apprtc.ResultError, a.join("down").Result)
	status, _ := a.do(http.MethodGet, "/r/down", "")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	w := a.collider("down", "c1")
	f := w.Recv()
	assert.Contains(t, f, "NATS", f)
	elapsed := time.Since(start)
	t.Logf("three requests with NATS down answered in %v (Timeout %v)", elapsed.Round(time.Millisecond), cfg.Timeout)
	assert.Less(t, elapsed, 3*(2*cfg.Timeout+time.Second))
}

// waitBound waits until in's Backplane has n sinks with their lease
// written.
func waitBound(t *testing.T, in *instance, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		leased := 0
		for _, l := range in.bp.bound(nil) {
			in.bp.mu.Lock()
			if l.leased {
				leased++
			}
			in.bp.mu.Unlock()
		}
		return leased == n
	}, 5*time.Second, 10*time.Millisecond)
}

// TestAppRTCLostLease: when a client's lease is gone (its instance was cut
// off from NATS longer than LeaseTTL, or the entry was removed), the
// instance that holds its WebSocket closes it at the next refresh, so that
// the client registers again.
func TestAppRTCLostLease(t *testing.T) {
	ns := startNATS(t)
	cfg := testConfig()
	a := newInstance(t, ns.ClientURL(), options{bp: cfg})
	j := a.join("lost")
	w := a.collider("lost", j.Params.ClientID)
	waitBound(t, a, 1)
	require.NoError(t, a.as.b.purge(t.Context(), leaseKey("lost", j.Params.ClientID), 0))
	assert.True(t, w.Closed(2*cfg.LeaseTTL), "the WebSocket outlived its lease")
	assert.Equal(t, uint64(1), a.bp.Stats().LeasesLost)
}
