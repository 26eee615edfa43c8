package deadline

import (
	"sync"
	"testing"
	"time"
)

// wait is how long a test waits for a deadline that should fire.
const wait = 5 * time.Second

// fired reports whether ch is closed, or closes within the time given.
func fired(ch <-chan struct{}, within time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	if within == 0 {
		return false
	}
	select {
	case <-ch:
		return true
	case <-time.After(within):
		return false
	}
}

func TestZeroNeverExpires(t *testing.T) {
	var d Deadline
	if d.Wait() != nil || d.Expired() {
		t.Fatal("zero Deadline has a deadline")
	}
	d.Set(time.Time{})
	if d.Wait() != nil || d.Expired() {
		t.Fatal("Set(zero) on a zero Deadline set one")
	}
}

func TestPastExpiresAtOnce(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(-time.Second))
	if !d.Expired() || !fired(d.Wait(), 0) {
		t.Fatal("a past deadline did not expire at once")
	}
}

func TestFutureFires(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(20 * time.Millisecond))
	if d.Expired() {
		t.Fatal("expired before its time")
	}
	if !fired(d.Wait(), wait) {
		t.Fatal("did not fire")
	}
	if !d.Expired() {
		t.Fatal("Expired false after the channel closed")
	}
}

// TestSetAfterExpiry: a deadline moved after it fired gets a fresh,
// open channel.
func TestSetAfterExpiry(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(-time.Second))
	old := d.Wait()
	d.Set(time.Now().Add(time.Hour))
	if d.Expired() || d.Wait() == old || fired(d.Wait(), 0) {
		t.Fatal("a deadline moved to the future is still expired")
	}
	d.Set(time.Time{})
	if d.Expired() {
		t.Fatal("removed deadline is expired")
	}
}

// TestZeroKeepsWaitersWaiting: removing an unexpired deadline leaves the
// waiters' channel open, and a later deadline closes that same channel.
func TestZeroKeepsWaitersWaiting(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(time.Hour))
	ch := d.Wait()
	d.Set(time.Time{})
	if fired(ch, 50*time.Millisecond) {
		t.Fatal("removing the deadline closed the waiters' channel")
	}
	d.Set(time.Now().Add(10 * time.Millisecond))
	if !fired(ch, wait) {
		t.Fatal("a new deadline did not wake the earlier waiter")
	}
}

// TestMoveLater: a deadline moved later does not fire at its old time.
func TestMoveLater(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(10 * time.Millisecond))
	d.Set(time.Now().Add(time.Hour))
	if fired(d.Wait(), 100*time.Millisecond) {
		t.Fatal("fired at the old time")
	}
}

func TestStop(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(10 * time.Millisecond))
	d.Stop()
	if fired(d.Wait(), 100*time.Millisecond) || d.Expired() {
		t.Fatal("fired after Stop")
	}
}

// TestWaitTakesNoLock: Wait and Expired answer while Set's mutex is held,
// since a session calls them for every packet.
func TestWaitTakesNoLock(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(time.Hour))
	want := d.Wait()
	d.mu.Lock()
	done := make(chan bool)
	go func() { done <- d.Wait() == want && !d.Expired() }()
	select {
	case ok := <-done:
		d.mu.Unlock()
		if !ok {
			t.Fatal("Wait or Expired wrong while the lock is held")
		}
	case <-time.After(wait):
		d.mu.Unlock()
		<-done
		t.Fatal("Wait blocked on the mutex")
	}
}

func TestWaitAllocs(t *testing.T) {
	var d Deadline
	for _, set := range []time.Time{{}, time.Now().Add(time.Hour), time.Now().Add(-time.Hour)} {
		d.Set(set)
		if n := testing.AllocsPerRun(100, func() { _, _ = d.Wait(), d.Expired() }); n != 0 {
			t.Errorf("deadline %v: %v allocations per Wait and Expired, want 0", set, n)
		}
	}
}

// TestConcurrent runs Set, Stop, Wait and Expired at once, for the race
// detector, and checks that a deadline set in the past is seen expired by
// the goroutine that set it.
func TestConcurrent(t *testing.T) {
	var d Deadline
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-d.Wait():
				default:
				}
				_ = d.Expired()
			}
		}()
	}
	for i := range 2000 {
		switch i % 4 {
		case 0:
			d.Set(time.Now().Add(time.Duration(i%7) * time.Microsecond))
		case 1:
			d.Set(time.Now().Add(-time.Second))
			if !d.Expired() {
				t.Error("a past deadline is not expired")
			}
		case 2:
			d.Set(time.Time{})
		case 3:
			d.Stop()
		}
	}
	close(stop)
	wg.Wait()
}

// TestMoveLaterAndEarlier moves an armed deadline later, so that its first
// time passes without firing, and then earlier, so that it fires.
func TestMoveLaterAndEarlier(t *testing.T) {
	var d Deadline
	defer d.Stop()
	d.Set(time.Now().Add(20 * time.Millisecond))
	ch := d.Wait()
	d.Set(time.Now().Add(time.Hour))
	if fired(ch, 100*time.Millisecond) {
		t.Fatal("a deadline moved an hour later fired at its old time")
	}
	d.Set(time.Now().Add(10 * time.Millisecond))
	if !fired(ch, wait) {
		t.Fatal("a deadline moved earlier did not fire")
	}
	if !d.Expired() {
		t.Fatal("fired but not Expired")
	}
}

// TestSetDoesNotAllocate checks that moving an unexpired deadline reuses
// its timer and channel: peer's read loop moves its deadline on every
// RTCP tick.
func TestSetDoesNotAllocate(t *testing.T) {
	var d Deadline
	defer d.Stop()
	d.Set(time.Now().Add(time.Hour))
	allocs := testing.AllocsPerRun(1000, func() {
		d.Set(time.Now().Add(time.Hour))
	})
	if allocs != 0 {
		t.Fatalf("Set allocates %.1f times per call, want 0", allocs)
	}
}
