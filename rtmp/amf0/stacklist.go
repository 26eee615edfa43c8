package amf0

// stackList collects the elements of one decoded object or message: the
// first few in place, so that a stackList declared in a function lives on
// its stack, the rest on the heap. Most objects of commands and metadata
// fit in place and cost one allocation at their final size, where
// appending to a growing slice costs one per doubling.
type stackList[T any] struct {
	local [8]T
	n     int // elements in local, while heap is nil
	heap  []T // all elements, once they no longer fit in local
}

// expect prepares for about hint elements when hint is more than local
// holds, believing it only up to limit (how many the input could hold).
func (l *stackList[T]) expect(hint uint32, limit int) {
	if hint > uint32(len(l.local)) {
		l.heap = make([]T, 0, min(int(min(hint, 1<<16)), limit))
	}
}

func (l *stackList[T]) add(v T) {
	if l.heap == nil && l.n < len(l.local) {
		l.local[l.n] = v
		l.n++
		return
	}
	if l.heap == nil {
		l.heap = append(make([]T, 0, 2*len(l.local)), l.local[:]...)
	}
	l.heap = append(l.heap, v)
}

func (l *stackList[T]) len() int {
	if l.heap != nil {
		return len(l.heap)
	}
	return l.n
}

// slice returns the elements in a slice of their own: empty but not nil
// when there are none.
func (l *stackList[T]) slice() []T {
	if l.heap != nil {
		return l.heap
	}
	return append(make([]T, 0, l.n), l.local[:l.n]...)
}
