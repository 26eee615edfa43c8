package amf0

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
)

// AMF0 decoding results by marker:
//
//	number            float64
//	boolean           bool
//	string, long str  string
//	object            Object
//	null              nil
//	undefined         Undefined
//	reference         the referenced Object, ECMAArray, []any or TypedObject
//	ECMA array        ECMAArray
//	strict array      []any
//	date              time.Time (UTC; the time zone field is ignored, as the spec says)
//	unsupported       Unsupported
//	XML document      XMLDocument
//	typed object      TypedObject
//	AVM+ (AMF3)       the AMF3 value (see amf3Decoder)
//
// Decoding allocates (strings, slices, boxed numbers); it is meant for
// commands and metadata, not per-frame data. BenchmarkDecode measures it on
// ffmpeg's connect and onMetaData: about 6 allocations each.

// sharedCopyMax is the largest input whose strings are cut from one copy of
// the whole input (one allocation per call) rather than copied one by one.
// A string kept by the caller keeps that copy alive, so the bound is what a
// kept string can cost; commands and metadata are well below it.
const sharedCopyMax = 4096

// Decoder decodes AMF0 values with limits. The zero value is ready and uses
// DefaultMaxDepth and DefaultMaxValues. A Decoder is not safe for concurrent
// use.
type Decoder struct {
	// MaxDepth limits the nesting of objects and arrays. Zero means
	// DefaultMaxDepth (32).
	MaxDepth int
	// MaxValues limits how many values (including nested ones) one
	// Decode or DecodeAll call may produce, so that a message of
	// one-byte values cannot expand sixteen-fold in memory. Zero means
	// DefaultMaxValues (65536).
	MaxValues int

	// The reference table (AMF0 §2.9): the complex values in the order
	// they begin, the first few inline so that a command needs no
	// allocation for it.
	refs     [4]decodedRef
	moreRefs []decodedRef
	nrefs    int

	// State of one Decode or DecodeAll call, cleared when it returns so
	// that the Decoder keeps neither the input nor its copy.
	in     []byte // the input: every b a method sees is a suffix of it
	text   string // string(in), made at the first string when len(in) <= sharedCopyMax
	values budget
}

// decodedRef is an entry of a reference table: a complex value and how
// many values it holds, itself and nested ones included.
type decodedRef struct {
	v      any
	values int
}

// budget counts values against Decoder.MaxValues. A reference is charged
// the values of what it refers to, as a caller that walks, prints or
// re-encodes the result sees them: else a few hundred bytes of objects
// that each refer twice to the previous one would expand to 2^n values.
type budget struct {
	left, limit int
}

// take charges one decoded value.
func (b *budget) take() error {
	b.left--
	if b.left < 0 {
		return b.exceeded()
	}
	return nil
}

// takeRef charges a reference to a value of n values, of which the
// reference itself was charged one.
func (b *budget) takeRef(n int) error {
	b.left -= n - 1
	if b.left < 0 {
		return b.exceeded()
	}
	return nil
}

func (b *budget) exceeded() error {
	return fmt.Errorf("more than %d values: %w", b.limit, ErrMalformed)
}

// Decode decodes one AMF0 value from b and returns it with the number of
// bytes used. Errors match ErrMalformed or ErrDepth.
func Decode(b []byte) (v any, n int, err error) {
	var d Decoder
	return d.Decode(b)
}

// DecodeAll decodes the AMF0 values that fill b, as in a command or data
// message body (RTMP §7.1.1, §7.1.2). Errors match ErrMalformed or ErrDepth.
func DecodeAll(b []byte) ([]any, error) {
	var d Decoder
	return d.DecodeAll(b)
}

// Decode decodes one AMF0 value from b and returns it with the number of
// bytes used. The reference table spans the decoder's calls since the last
// Reset (AMF0 references count objects from the start of the message).
func (d *Decoder) Decode(b []byte) (any, int, error) {
	d.begin(b)
	defer d.end()
	v, n, err := d.value(b, 0)
	if err != nil {
		return nil, 0, prefixed(err)
	}
	return v, n, nil
}

// DecodeAll resets the reference table and decodes all values in b. A
// stray object-end marker between values (sent by some encoders) is
// skipped. On an error it returns the values decoded before it.
func (d *Decoder) DecodeAll(b []byte) ([]any, error) {
	d.Reset()
	d.begin(b)
	defer d.end()
	var vs stackList[any] // a command has 3 to 5 values
	var err error
	for len(b) > 0 {
		if b[0] == amf0ObjectEnd {
			b = b[1:]
			continue
		}
		v, n, verr := d.value(b, 0)
		if verr != nil {
			err = fmt.Errorf("value %d: %w", vs.len(), verr)
			break
		}
		vs.add(v)
		b = b[n:]
	}
	err = prefixed(err)
	if vs.len() == 0 {
		return nil, err
	}
	return vs.slice(), err
}

// Reset clears the reference table.
func (d *Decoder) Reset() {
	clear(d.refs[:])
	clear(d.moreRefs)
	d.moreRefs = d.moreRefs[:0]
	d.nrefs = 0
}

func (d *Decoder) begin(b []byte) {
	d.in = b
	limit := d.MaxValues
	if limit <= 0 {
		limit = DefaultMaxValues
	}
	d.values = budget{left: limit, limit: limit}
}

func (d *Decoder) end() { d.in, d.text = nil, "" }

func (d *Decoder) maxDepth() int {
	if d.MaxDepth > 0 {
		return d.MaxDepth
	}
	return DefaultMaxDepth
}

// str returns the l bytes at b[i:] as a string that stays valid after the
// input is reused: cut from the call's copy of the input when it is small
// enough, copied alone otherwise. b is a suffix of d.in.
func (d *Decoder) str(b []byte, i, l int) string {
	if l == 0 {
		return ""
	}
	if len(d.in) > sharedCopyMax {
		return string(b[i : i+l])
	}
	if d.text == "" {
		d.text = string(d.in)
	}
	at := len(d.in) - len(b) + i
	return d.text[at : at+l]
}

// stringValue is str for a string value: a boxed string shared by every
// call for the common command names and values (boxing is an allocation).
func (d *Decoder) stringValue(b []byte, i, l int) any {
	if v := commonString(b[i : i+l]); v != nil {
		return v
	}
	return d.str(b, i, l)
}

// Errors name where in the tree they happened ("property "app": element 2:
// ..."), but a peer chooses both the keys (up to 65,535 bytes) and the depth,
// so the path is bounded: keys are quoted up to maxErrKey bytes, and only the
// outermost maxErrPath levels are named, whatever Decoder.MaxDepth is.
const (
	maxErrKey  = 32
	maxErrPath = 8
)

// errAt wraps err, which happened inside the complex value at depth, with
// where (format and arg: a property key, as bytes, or an element index).
func errAt(depth int, err error, format string, arg any) error {
	if depth > maxErrPath {
		return err
	}
	if key, ok := arg.([]byte); ok { // a copy no larger than the input that held it
		arg = logstr.BoundN(string(key), maxErrKey)
	}
	return fmt.Errorf(format+": %w", arg, err)
}

func errShort(what string) error { return fmt.Errorf("truncated %s: %w", what, ErrMalformed) }

var errShortString = errShort("string")

// value decodes one value at nesting depth depth.
func (d *Decoder) value(b []byte, depth int) (any, int, error) {
	if len(b) == 0 {
		return nil, 0, errShort("value")
	}
	if err := d.values.take(); err != nil {
		return nil, 0, err
	}
	switch b[0] {
	case amf0Number:
		if len(b) < 9 {
			return nil, 0, errShort("number")
		}
		return boxNumber(math.Float64frombits(binary.BigEndian.Uint64(b[1:]))), 9, nil
	case amf0Boolean:
		if len(b) < 2 {
			return nil, 0, errShort("boolean")
		}
		return b[1] != 0, 2, nil
	case amf0String:
		l, err := shortLen(b[1:])
		if err != nil {
			return nil, 0, err
		}
		return d.stringValue(b, 3, l), 3 + l, nil
	case amf0LongString, amf0XMLDocument:
		if len(b) < 5 {
			return nil, 0, errShort("long string")
		}
		l := binary.BigEndian.Uint32(b[1:])
		if uint64(l) > uint64(len(b)-5) {
			return nil, 0, errShort("long string")
		}
		s := d.str(b, 5, int(l))
		if b[0] == amf0XMLDocument {
			return XMLDocument(s), int(5 + l), nil
		}
		return s, int(5 + l), nil
	case amf0Null:
		return nil, 1, nil
	case amf0Undefined:
		return Undefined{}, 1, nil
	case amf0Unsupported:
		return Unsupported{}, 1, nil
	case amf0Reference:
		if len(b) < 3 {
			return nil, 0, errShort("reference")
		}
		i := int(binary.BigEndian.Uint16(b[1:]))
		r := d.ref(i)
		if r.v == nil {
			return nil, 0, fmt.Errorf("reference %d of %d objects (or to an object being decoded): %w", i, d.nrefs, ErrMalformed)
		}
		if err := d.values.takeRef(r.values); err != nil {
			return nil, 0, err
		}
		return r.v, 3, nil
	case amf0Date:
		if len(b) < 11 {
			return nil, 0, errShort("date")
		}
		ms := math.Float64frombits(binary.BigEndian.Uint64(b[1:]))
		if math.IsNaN(ms) || math.IsInf(ms, 0) || math.Abs(ms) > 8.64e15 {
			return nil, 0, fmt.Errorf("date %v out of range: %w", ms, ErrMalformed)
		}
		return time.UnixMilli(int64(ms)).UTC(), 11, nil
	case amf0Object, amf0ECMAArray, amf0StrictArray, amf0TypedObject:
		if depth >= d.maxDepth() {
			return nil, 0, ErrDepth
		}
		return d.complex(b, depth+1)
	case amf0AVMPlus:
		v, n, err := decodeAMF3Value(b[1:], depth, d)
		return v, n + 1, err
	}
	return nil, 0, fmt.Errorf("unsupported AMF0 marker 0x%02x: %w", b[0], ErrMalformed)
}

// ref returns entry i of the reference table, with a nil value if there is
// none or the value is still being decoded.
func (d *Decoder) ref(i int) decodedRef {
	switch {
	case i >= d.nrefs:
		return decodedRef{}
	case i < len(d.refs):
		return d.refs[i]
	}
	return d.moreRefs[i-len(d.refs)]
}

// reserveRef numbers a complex value as it begins (AMF0 numbers objects in
// the order they begin, so nested ones come after their parent) and
// returns its index for setRef.
func (d *Decoder) reserveRef() int {
	if d.nrefs >= len(d.refs) {
		d.moreRefs = append(d.moreRefs, decodedRef{})
	}
	d.nrefs++
	return d.nrefs - 1
}

func (d *Decoder) setRef(i int, r decodedRef) {
	if i < len(d.refs) {
		d.refs[i] = r
		return
	}
	d.moreRefs[i-len(d.refs)] = r
}

// complex decodes the values that enter the reference table: objects,
// ECMA arrays, strict arrays and typed objects.
func (d *Decoder) complex(b []byte, depth int) (any, int, error) {
	ref := d.reserveRef()
	left := d.values.left + 1 // value charged this one
	var v any
	var n int
	var err error
	switch b[0] {
	case amf0Object:
		var o []Property
		o, n, err = d.properties(b[1:], depth, 0, false)
		v, n = Object(o), n+1
	case amf0ECMAArray:
		if len(b) < 5 {
			return nil, 0, errShort("ECMA array")
		}
		// The count is only a hint (encoders get it wrong); the array ends
		// at the object-end marker.
		var o []Property
		o, n, err = d.properties(b[5:], depth, binary.BigEndian.Uint32(b[1:]), true)
		v, n = ECMAArray(o), n+5
	case amf0StrictArray:
		var a []any
		a, n, err = d.strictArray(b[1:], depth)
		v, n = a, n+1
	case amf0TypedObject:
		l, err2 := shortLen(b[1:])
		if err2 != nil {
			return nil, 0, err2
		}
		var o []Property
		o, n, err = d.properties(b[3+l:], depth, 0, false)
		v, n = TypedObject{ClassName: d.str(b, 3, l), Properties: o}, n+3+l
	}
	if err != nil {
		return nil, 0, err
	}
	d.setRef(ref, decodedRef{v, left - d.values.left})
	return v, n, nil
}

// minPropertySize is the smallest encoding of a property: an empty key and
// a one-byte value.
const minPropertySize = 3

// properties decodes key/value pairs up to the object-end marker (an empty
// key followed by 0x09). An ECMA array that simply stops at the end of the
// data is accepted (lenient), as several encoders omit its end marker.
// hint is the property count the ECMA array announces, 0 if none.
func (d *Decoder) properties(b []byte, depth int, hint uint32, lenient bool) ([]Property, int, error) {
	var props stackList[Property]
	props.expect(hint, len(b)/minPropertySize)
	off := 0
	for {
		if lenient && off == len(b) {
			break
		}
		l, err := shortLen(b[off:])
		if err != nil {
			return nil, 0, err
		}
		keyAt := off + 2
		off = keyAt + l
		if l == 0 {
			if off < len(b) && b[off] == amf0ObjectEnd {
				off++
				break
			}
			if lenient && off == len(b) {
				break
			}
		}
		v, n, err := d.value(b[off:], depth)
		if err != nil {
			return nil, 0, errAt(depth, err, "property %q", b[keyAt:keyAt+l])
		}
		off += n
		props.add(Property{Key: d.str(b, keyAt, l), Value: v})
	}
	return props.slice(), off, nil
}

func (d *Decoder) strictArray(b []byte, depth int) ([]any, int, error) {
	if len(b) < 4 {
		return nil, 0, errShort("strict array")
	}
	count := binary.BigEndian.Uint32(b)
	// Every element takes at least one byte: never trust the count for
	// the allocation.
	if uint64(count) > uint64(len(b)-4) {
		return nil, 0, errShort("strict array")
	}
	a := make([]any, 0, min(count, 1024)) // grows with the elements that really decode
	off := 4
	for i := uint32(0); i < count; i++ {
		v, n, err := d.value(b[off:], depth)
		if err != nil {
			return nil, 0, errAt(depth, err, "element %d", i)
		}
		off += n
		a = append(a, v)
	}
	return a, off, nil
}

// shortLen returns the length of the string (AMF0 §1.3: a 16-bit length,
// then UTF-8) at the start of b, checked against the bytes that follow.
func shortLen(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errShortString
	}
	l := int(binary.BigEndian.Uint16(b))
	if l > len(b)-2 {
		return 0, errShortString
	}
	return l, nil
}
