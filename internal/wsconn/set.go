package wsconn

import "sync"

// Set is a server's open connections, so that closing the server can
// close them and wait for their handlers. Its zero value is an open, empty
// set; it is safe for concurrent use.
type Set[C comparable] struct {
	mu      sync.Mutex
	m       map[C]struct{}
	closed  bool
	closing chan struct{} // closed by Close; made on first use
	wg      sync.WaitGroup
}

// Add adds c, whose handler calls Remove when it returns; it reports
// false, adding nothing, once Close was called.
func (s *Set[C]) Add(c C) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.m == nil {
		s.m = map[C]struct{}{}
	}
	s.m[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// Remove removes c, added before.
func (s *Set[C]) Remove(c C) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Len is the number of connections in the set.
func (s *Set[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Each calls f on every connection, with the set locked: f must not call
// the set.
func (s *Set[C]) Each(f func(C)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.m {
		f(c)
	}
}

// Close refuses further Adds and calls f on every connection (as Each);
// it reports false, doing nothing, when it was called before.
func (s *Set[C]) Close(f func(C)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	close(s.closingLocked())
	for c := range s.m {
		f(c)
	}
	return true
}

// Closing is closed once Close was called.
func (s *Set[C]) Closing() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closingLocked()
}

func (s *Set[C]) closingLocked() chan struct{} {
	if s.closing == nil {
		s.closing = make(chan struct{})
	}
	return s.closing
}

// Closed reports whether Close was called.
func (s *Set[C]) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Wait waits until every connection added was removed.
func (s *Set[C]) Wait() { s.wg.Wait() }
