package ice

import "time"

// consentSweepInterval returns how often sessions are checked for expired
// consent: a sixth of the timeout, at most 1 s, so that a session outlives
// its consent by at most that much.
func consentSweepInterval(timeout time.Duration) time.Duration {
	return max(min(timeout/6, time.Second), time.Millisecond)
}

// startConsentSweeper runs expireConsent periodically until stop is
// closed; the returned channel is closed when it has finished. With consent
// disabled it starts nothing.
func (m *Mux) startConsentSweeper(stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	if m.consent <= 0 {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		t := time.NewTicker(consentSweepInterval(m.consent))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				m.expireConsent(m.consent)
			}
		}
	}()
	return done
}

// expireConsent closes, with ErrConsentExpired, every session whose last
// successful check (or creation) is older than timeout, by the Mux's clock
// (RFC 7675 §5.1), and returns how many it closed.
func (m *Mux) expireConsent(timeout time.Duration) int {
	limit := m.now().Add(-timeout).UnixNano()
	var expired []*Session
	m.mu.RLock()
	for _, s := range m.sessions {
		if s.lastCheck.Load() < limit {
			expired = append(expired, s)
		}
	}
	m.mu.RUnlock()
	for _, s := range expired {
		m.removeSession(s, ErrConsentExpired)
		m.expired.Add(1)
		m.log.Info("ice: consent expired", "ufrag", s.creds.Load().local.Ufrag, "timeout", timeout)
	}
	return len(expired)
}
