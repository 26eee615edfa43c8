package amf0

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// AMF0 type markers (AMF0 spec §2.1).
const (
	amf0Number      = 0x00
	amf0Boolean     = 0x01
	amf0String      = 0x02
	amf0Object      = 0x03
	amf0MovieClip   = 0x04 // reserved, not supported
	amf0Null        = 0x05
	amf0Undefined   = 0x06
	amf0Reference   = 0x07
	amf0ECMAArray   = 0x08
	amf0ObjectEnd   = 0x09
	amf0StrictArray = 0x0A
	amf0Date        = 0x0B
	amf0LongString  = 0x0C
	amf0Unsupported = 0x0D
	amf0RecordSet   = 0x0E // reserved, not supported
	amf0XMLDocument = 0x0F
	amf0TypedObject = 0x10
	amf0AVMPlus     = 0x11 // switch to AMF3 for one value
)

// DefaultAMFMaxDepth is how deeply objects and arrays may nest in decoded
// AMF (AMF0Decoder.MaxDepth).
const DefaultMaxDepth = 32

// AMF errors; test with errors.Is.
var (
	// ErrAMF: malformed or truncated AMF data.
	ErrMalformed = errors.New("rtmp: malformed AMF")
	// ErrAMFDepth: objects nested deeper than the decoder allows.
	ErrDepth = errors.New("rtmp: AMF nesting too deep")
	// ErrAMFType: a Go value AppendAMF0 cannot encode.
	ErrType = errors.New("rtmp: value not encodable as AMF0")
)

// Property is one key/value pair of an AMF object or ECMA array.
type Property struct {
	// Key is the property name (UTF-8, at most 65535 bytes).
	Key string
	// Value is the decoded value (see Decode for the Go types).
	Value any
}

// Object is an AMF0 anonymous object (marker 0x03): properties in wire
// order. Commands are sensitive to neither order nor duplicates, but some
// peers are, so the order is kept.
type Object []Property

// Get returns the value of the first property named key.
func (o Object) Get(key string) (any, bool) {
	for _, p := range o {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// String returns the string property key, or "" if it is absent or not a
// string.
func (o Object) String(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// Number returns the number property key, or 0 if it is absent or not a
// number.
func (o Object) Number(key string) float64 {
	v, _ := o.Get(key)
	f, _ := v.(float64)
	return f
}

// ECMAArray is an AMF0 ECMA array (marker 0x08), an associative array such
// as onMetaData: properties in wire order.
type ECMAArray []Property

// Get returns the value of the first property named key.
func (a ECMAArray) Get(key string) (any, bool) { return Object(a).Get(key) }

// TypedObject is an AMF0 typed object (marker 0x10): a class name and its
// properties.
type TypedObject struct {
	// ClassName is the registered class name.
	ClassName string
	// Properties are the object's properties in order.
	Properties Object
}

// Undefined is the AMF0 undefined value (marker 0x06). AMF0 null decodes as
// nil.
type Undefined struct{}

// Unsupported is the AMF0 unsupported marker (0x0D).
type Unsupported struct{}

// XMLDocument is an AMF0 XML document (marker 0x0F), a long string.
type XMLDocument string

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
//	AVM+ (AMF3)       the AMF3 value (see decodeAMF3)
//
// Decoding allocates (strings, slices); it is meant for commands and
// metadata, not per-frame data.

// AMF0Decoder decodes AMF0 values with limits. The zero value is ready and
// uses DefaultAMFMaxDepth.
type Decoder struct {
	// MaxDepth limits the nesting of objects and arrays. Default
	// DefaultAMFMaxDepth.
	MaxDepth int
	// MaxValues limits how many values (including nested ones) one
	// Decode or DecodeAll call may produce, so that a message of
	// one-byte values cannot expand sixteen-fold in memory. Default
	// DefaultAMFMaxValues.
	MaxValues int
	refs      []any
	values    int
}

// DefaultAMFMaxValues is the default AMF0Decoder.MaxValues.
const DefaultMaxValues = 1 << 16

// DecodeAMF0 decodes one AMF0 value from b and returns it with the number
// of bytes used.
func Decode(b []byte) (v any, n int, err error) {
	var d Decoder
	return d.Decode(b)
}

// DecodeAMF0All decodes the AMF0 values that fill b, as in a command or
// data message body.
func DecodeAll(b []byte) ([]any, error) {
	var d Decoder
	return d.DecodeAll(b)
}

// Decode decodes one AMF0 value from b. The reference table spans the
// decoder's calls since the last Reset (AMF0 references count objects from
// the start of the message).
func (d *Decoder) Decode(b []byte) (any, int, error) {
	d.values = 0
	v, n, err := d.value(b, 0)
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

// DecodeAll resets the reference table and decodes all values in b. A
// stray object-end marker between values (sent by some encoders) is
// skipped.
func (d *Decoder) DecodeAll(b []byte) ([]any, error) {
	d.Reset()
	d.values = 0
	var vs []any
	for len(b) > 0 {
		if b[0] == amf0ObjectEnd {
			b = b[1:]
			continue
		}
		v, n, err := d.value(b, 0)
		if err != nil {
			return vs, fmt.Errorf("value %d: %w", len(vs), err)
		}
		vs = append(vs, v)
		b = b[n:]
	}
	return vs, nil
}

// Reset clears the reference table.
func (d *Decoder) Reset() { d.refs = d.refs[:0] }

func (d *Decoder) maxDepth() int {
	if d.MaxDepth > 0 {
		return d.MaxDepth
	}
	return DefaultMaxDepth
}

// count charges one decoded value against MaxValues.
func (d *Decoder) count() error {
	limit := d.MaxValues
	if limit <= 0 {
		limit = DefaultMaxValues
	}
	d.values++
	if d.values > limit {
		return fmt.Errorf("more than %d values: %w", limit, ErrMalformed)
	}
	return nil
}

func errShort(what string) error { return fmt.Errorf("truncated %s: %w", what, ErrMalformed) }

// value decodes one value at nesting depth depth.
func (d *Decoder) value(b []byte, depth int) (any, int, error) {
	if len(b) == 0 {
		return nil, 0, errShort("value")
	}
	if err := d.count(); err != nil {
		return nil, 0, err
	}
	switch b[0] {
	case amf0Number:
		if len(b) < 9 {
			return nil, 0, errShort("number")
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b[1:])), 9, nil
	case amf0Boolean:
		if len(b) < 2 {
			return nil, 0, errShort("boolean")
		}
		return b[1] != 0, 2, nil
	case amf0String:
		s, n, err := shortString(b[1:])
		return s, n + 1, err
	case amf0LongString, amf0XMLDocument:
		if len(b) < 5 {
			return nil, 0, errShort("long string")
		}
		l := binary.BigEndian.Uint32(b[1:])
		if uint64(l) > uint64(len(b)-5) {
			return nil, 0, errShort("long string")
		}
		s := string(b[5 : 5+l])
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
		if i >= len(d.refs) || d.refs[i] == nil {
			return nil, 0, fmt.Errorf("reference %d of %d objects (or to an object being decoded): %w", i, len(d.refs), ErrMalformed)
		}
		return d.refs[i], 3, nil
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

// complex decodes the values that enter the reference table: objects,
// ECMA arrays, strict arrays and typed objects.
func (d *Decoder) complex(b []byte, depth int) (any, int, error) {
	ref := len(d.refs)
	d.refs = append(d.refs, nil) // reserved now: AMF0 numbers objects in the order they begin
	var v any
	var n int
	var err error
	switch b[0] {
	case amf0Object:
		var o Object
		o, n, err = d.properties(b[1:], depth, false)
		v, n = o, n+1
	case amf0ECMAArray:
		if len(b) < 5 {
			return nil, 0, errShort("ECMA array")
		}
		// The count is only a hint (encoders get it wrong); the array ends
		// at the object-end marker.
		var o Object
		o, n, err = d.properties(b[5:], depth, true)
		v, n = ECMAArray(o), n+5
	case amf0StrictArray:
		var a []any
		a, n, err = d.strictArray(b[1:], depth)
		v, n = a, n+1
	case amf0TypedObject:
		name, m, err2 := shortString(b[1:])
		if err2 != nil {
			return nil, 0, err2
		}
		var o Object
		o, n, err = d.properties(b[1+m:], depth, false)
		v, n = TypedObject{ClassName: name, Properties: o}, n+1+m
	}
	if err != nil {
		return nil, 0, err
	}
	d.refs[ref] = v
	return v, n, nil
}

// properties decodes key/value pairs up to the object-end marker (an empty
// key followed by 0x09). An ECMA array that simply stops at the end of the
// data is accepted, as several encoders omit its end marker.
func (d *Decoder) properties(b []byte, depth int, lenient bool) (Object, int, error) {
	o := Object{} // an empty object decodes as empty, not nil
	off := 0
	for {
		if lenient && off == len(b) {
			return o, off, nil
		}
		key, n, err := shortString(b[off:])
		if err != nil {
			return nil, 0, err
		}
		off += n
		if key == "" {
			if off < len(b) && b[off] == amf0ObjectEnd {
				return o, off + 1, nil
			}
			if lenient && off == len(b) {
				return o, off, nil
			}
		}
		v, n, err := d.value(b[off:], depth)
		if err != nil {
			return nil, 0, fmt.Errorf("property %q: %w", key, err)
		}
		off += n
		o = append(o, Property{Key: key, Value: v})
	}
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
			return nil, 0, fmt.Errorf("element %d: %w", i, err)
		}
		off += n
		a = append(a, v)
	}
	return a, off, nil
}

func shortString(b []byte) (string, int, error) {
	if len(b) < 2 {
		return "", 0, errShort("string")
	}
	l := int(binary.BigEndian.Uint16(b))
	if l > len(b)-2 {
		return "", 0, errShort("string")
	}
	return string(b[2 : 2+l]), 2 + l, nil
}

// AppendAMF0 appends the AMF0 encoding of v to b. Accepted Go types:
// float64 and the other integer and float types (as numbers), bool, string
// (a long string above 65535 bytes), nil (null), Undefined, Unsupported,
// Object, ECMAArray, map[string]any (an object with sorted keys),
// TypedObject, []any and []string (strict arrays), time.Time (date),
// XMLDocument.
func Append(b []byte, v any) ([]byte, error) {
	return appendAMF0(b, v, 0)
}

// AppendAMF0Values appends the AMF0 encodings of vs in order.
func AppendValues(b []byte, vs ...any) ([]byte, error) {
	var err error
	for _, v := range vs {
		if b, err = appendAMF0(b, v, 0); err != nil {
			return b, err
		}
	}
	return b, nil
}

func AppendNumber(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, amf0Number), math.Float64bits(f))
}

func appendKey(b []byte, s string) ([]byte, error) {
	if len(s) > 0xFFFF {
		return b, fmt.Errorf("key of %d bytes: %w", len(s), ErrType)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

func AppendString(b []byte, s string) []byte {
	if len(s) > 0xFFFF {
		b = binary.BigEndian.AppendUint32(append(b, amf0LongString), uint32(len(s)))
		return append(b, s...)
	}
	b = binary.BigEndian.AppendUint16(append(b, amf0String), uint16(len(s)))
	return append(b, s...)
}

func appendProperties(b []byte, o []Property, depth int) ([]byte, error) {
	var err error
	for _, p := range o {
		if b, err = appendKey(b, p.Key); err != nil {
			return b, err
		}
		if b, err = appendAMF0(b, p.Value, depth+1); err != nil {
			return b, err
		}
	}
	return append(b, 0, 0, amf0ObjectEnd), nil
}

func appendAMF0(b []byte, v any, depth int) ([]byte, error) {
	if depth > DefaultMaxDepth {
		return b, ErrDepth
	}
	switch v := v.(type) {
	case nil:
		return append(b, amf0Null), nil
	case float64:
		return AppendNumber(b, v), nil
	case float32:
		return AppendNumber(b, float64(v)), nil
	case int:
		return AppendNumber(b, float64(v)), nil
	case int8:
		return AppendNumber(b, float64(v)), nil
	case int16:
		return AppendNumber(b, float64(v)), nil
	case int32:
		return AppendNumber(b, float64(v)), nil
	case int64:
		return AppendNumber(b, float64(v)), nil
	case uint:
		return AppendNumber(b, float64(v)), nil
	case uint8:
		return AppendNumber(b, float64(v)), nil
	case uint16:
		return AppendNumber(b, float64(v)), nil
	case uint32:
		return AppendNumber(b, float64(v)), nil
	case uint64:
		return AppendNumber(b, float64(v)), nil
	case bool:
		if v {
			return append(b, amf0Boolean, 1), nil
		}
		return append(b, amf0Boolean, 0), nil
	case string:
		return AppendString(b, v), nil
	case Undefined:
		return append(b, amf0Undefined), nil
	case Unsupported:
		return append(b, amf0Unsupported), nil
	case XMLDocument:
		b = binary.BigEndian.AppendUint32(append(b, amf0XMLDocument), uint32(len(v)))
		return append(b, v...), nil
	case time.Time:
		ms := float64(v.UnixMilli())
		b = binary.BigEndian.AppendUint64(append(b, amf0Date), math.Float64bits(ms))
		return append(b, 0, 0), nil // time zone: reserved, 0
	case Object:
		return appendProperties(append(b, amf0Object), v, depth)
	case ECMAArray:
		b = binary.BigEndian.AppendUint32(append(b, amf0ECMAArray), uint32(len(v)))
		return appendProperties(b, v, depth)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := make(Object, len(keys))
		for i, k := range keys {
			o[i] = Property{k, v[k]}
		}
		return appendProperties(append(b, amf0Object), o, depth)
	case TypedObject:
		b = append(b, amf0TypedObject)
		var err error
		if b, err = appendKey(b, v.ClassName); err != nil {
			return b, err
		}
		return appendProperties(b, v.Properties, depth)
	case []any:
		b = binary.BigEndian.AppendUint32(append(b, amf0StrictArray), uint32(len(v)))
		var err error
		for _, e := range v {
			if b, err = appendAMF0(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case []string:
		b = binary.BigEndian.AppendUint32(append(b, amf0StrictArray), uint32(len(v)))
		for _, e := range v {
			b = AppendString(b, e)
		}
		return b, nil
	}
	return b, fmt.Errorf("%T: %w", v, ErrType)
}
