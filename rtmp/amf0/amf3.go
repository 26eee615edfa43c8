package amf0

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AMF3 markers (AMF3 spec §3.1).
const (
	amf3Undefined = 0x00
	amf3Null      = 0x01
	amf3False     = 0x02
	amf3True      = 0x03
	amf3Integer   = 0x04
	amf3Double    = 0x05
	amf3String    = 0x06
	amf3XMLDoc    = 0x07
	amf3Date      = 0x08
	amf3Array     = 0x09
	amf3Object    = 0x0A
	amf3XML       = 0x0B
	amf3ByteArray = 0x0C
)

// amf3Decoder decodes one AMF3 value embedded in AMF0 after the AVM+ marker
// (AMF0 spec §3.1: each switch starts fresh reference tables). Results:
// undefined → Undefined, null → nil, booleans, integer → float64 (as AMF0
// numbers), double → float64, string → string, XML → XMLDocument, date →
// time.Time, array → []any (dense part; an associative part makes it an
// ECMAArray with the dense elements under keys "0", "1", ...), object →
// Object (sealed and dynamic members; a class name makes it a TypedObject),
// ByteArray → []byte. Vectors, dictionaries and externalizable objects are
// rejected.
type amf3Decoder struct {
	strings  []string
	objects  []decodedRef
	traits   []amf3Traits
	maxDepth int
	values   budget // the AMF0 decoder's, handed back when the value ends
}

type amf3Traits struct {
	class   string
	dynamic bool
	members []string
}

func decodeAMF3Value(b []byte, depth int, outer *Decoder) (any, int, error) {
	d := amf3Decoder{maxDepth: outer.maxDepth(), values: outer.values}
	v, n, err := d.value(b, depth)
	outer.values = d.values
	return v, n, err
}

// u29 reads an AMF3 variable-length 29-bit unsigned integer.
func u29(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, errShort("AMF3 integer")
		}
		c := b[i]
		if i == 3 {
			return v<<8 | uint32(c), 4, nil
		}
		v = v<<7 | uint32(c&0x7f)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return v, 4, nil
}

func (d *amf3Decoder) str(b []byte) (string, int, error) {
	h, n, err := u29(b)
	if err != nil {
		return "", 0, err
	}
	if h&1 == 0 {
		i := int(h >> 1)
		if i >= len(d.strings) {
			return "", 0, fmt.Errorf("AMF3 string reference %d: %w", i, ErrMalformed)
		}
		return d.strings[i], n, nil
	}
	l := int(h >> 1)
	if l > len(b)-n {
		return "", 0, errShort("AMF3 string")
	}
	s := string(b[n : n+l])
	if s != "" { // the empty string is never a reference (§1.3.2)
		d.strings = append(d.strings, s)
	}
	return s, n + l, nil
}

func (d *amf3Decoder) value(b []byte, depth int) (any, int, error) {
	if len(b) == 0 {
		return nil, 0, errShort("AMF3 value")
	}
	if err := d.values.take(); err != nil {
		return nil, 0, err
	}
	m, b := b[0], b[1:]
	switch m {
	case amf3Undefined:
		return Undefined{}, 1, nil
	case amf3Null:
		return nil, 1, nil
	case amf3False:
		return false, 1, nil
	case amf3True:
		return true, 1, nil
	case amf3Integer:
		v, n, err := u29(b)
		if err != nil {
			return nil, 0, err
		}
		if v&0x10000000 != 0 { // sign-extend 29 bits
			return boxNumber(float64(int32(v | 0xE0000000))), n + 1, err
		}
		return boxNumber(float64(v)), n + 1, err
	case amf3Double:
		if len(b) < 8 {
			return nil, 0, errShort("AMF3 double")
		}
		return boxNumber(math.Float64frombits(binary.BigEndian.Uint64(b))), 9, nil
	case amf3String:
		s, n, err := d.str(b)
		return s, n + 1, err
	}
	if depth >= d.maxDepth {
		return nil, 0, ErrDepth
	}
	h, n, err := u29(b)
	if err != nil {
		return nil, 0, err
	}
	if h&1 == 0 { // object reference
		i := int(h >> 1)
		if i >= len(d.objects) || d.objects[i].v == nil {
			return nil, 0, fmt.Errorf("AMF3 object reference %d: %w", i, ErrMalformed)
		}
		if err := d.values.takeRef(d.objects[i].values); err != nil {
			return nil, 0, err
		}
		return d.objects[i].v, n + 1, nil
	}
	ref := len(d.objects)
	d.objects = append(d.objects, decodedRef{})
	left := d.values.left + 1 // this value was charged above
	v, used, err := d.complex(m, h>>1, b[n:], depth+1)
	if err != nil {
		return nil, 0, err
	}
	d.objects[ref] = decodedRef{v, left - d.values.left}
	return v, 1 + n + used, nil
}

// complex decodes the by-reference types after their U29 header (with the
// inline bit removed, in h).
func (d *amf3Decoder) complex(m byte, h uint32, b []byte, depth int) (any, int, error) {
	switch m {
	case amf3XMLDoc, amf3XML, amf3ByteArray:
		if int(h) > len(b) {
			return nil, 0, errShort("AMF3 bytes")
		}
		if m == amf3ByteArray {
			return append([]byte(nil), b[:h]...), int(h), nil
		}
		return XMLDocument(b[:h]), int(h), nil
	case amf3Date:
		if len(b) < 8 {
			return nil, 0, errShort("AMF3 date")
		}
		ms := math.Float64frombits(binary.BigEndian.Uint64(b))
		if math.IsNaN(ms) || math.IsInf(ms, 0) || math.Abs(ms) > 8.64e15 {
			return nil, 0, fmt.Errorf("AMF3 date %v out of range: %w", ms, ErrMalformed)
		}
		return time.UnixMilli(int64(ms)).UTC(), 8, nil
	case amf3Array:
		return d.array(h, b, depth)
	case amf3Object:
		return d.object(h, b, depth)
	}
	return nil, 0, fmt.Errorf("unsupported AMF3 marker 0x%02x: %w", m, ErrMalformed)
}

func (d *amf3Decoder) array(count uint32, b []byte, depth int) (any, int, error) {
	assocProps, off, err := d.namedValues(nil, b, depth)
	if err != nil {
		return nil, 0, err
	}
	assoc := ECMAArray(assocProps)
	if uint64(count) > uint64(len(b)-off) {
		return nil, 0, errShort("AMF3 array")
	}
	dense := make([]any, 0, min(count, 1024))
	for i := uint32(0); i < count; i++ {
		v, n, err := d.value(b[off:], depth)
		if err != nil {
			return nil, 0, err
		}
		off += n
		dense = append(dense, v)
	}
	if assoc == nil {
		return dense, off, nil
	}
	for i, v := range dense {
		assoc = append(assoc, Property{fmt.Sprint(i), v})
	}
	return assoc, off, nil
}

// namedValues appends the name/value pairs of an associative array or a
// dynamic object to props, up to the empty name that ends them.
func (d *amf3Decoder) namedValues(props []Property, b []byte, depth int) ([]Property, int, error) {
	off := 0
	for {
		k, n, err := d.str(b[off:])
		if err != nil {
			return nil, 0, err
		}
		off += n
		if k == "" {
			return props, off, nil
		}
		v, n, err := d.value(b[off:], depth)
		if err != nil {
			return nil, 0, err
		}
		off += n
		props = append(props, Property{k, v})
	}
}

func (d *amf3Decoder) object(h uint32, b []byte, depth int) (any, int, error) {
	off := 0
	var t amf3Traits
	if h&1 == 0 { // traits reference
		i := int(h >> 1)
		if i >= len(d.traits) {
			return nil, 0, fmt.Errorf("AMF3 traits reference %d: %w", i, ErrMalformed)
		}
		t = d.traits[i]
	} else {
		if h&2 != 0 {
			return nil, 0, fmt.Errorf("AMF3 externalizable object: %w", ErrMalformed)
		}
		t.dynamic = h&4 != 0
		nm := h >> 3
		class, n, err := d.str(b)
		if err != nil {
			return nil, 0, err
		}
		off += n
		t.class = class
		if uint64(nm) > uint64(len(b)-off) {
			return nil, 0, errShort("AMF3 traits")
		}
		for i := uint32(0); i < nm; i++ {
			k, n, err := d.str(b[off:])
			if err != nil {
				return nil, 0, err
			}
			off += n
			t.members = append(t.members, k)
		}
		d.traits = append(d.traits, t)
	}
	var o Object
	for _, k := range t.members {
		v, n, err := d.value(b[off:], depth)
		if err != nil {
			return nil, 0, err
		}
		off += n
		o = append(o, Property{k, v})
	}
	if t.dynamic {
		props, n, err := d.namedValues(o, b[off:], depth)
		if err != nil {
			return nil, 0, err
		}
		o, off = props, off+n
	}
	if t.class != "" {
		return TypedObject{ClassName: t.class, Properties: o}, off, nil
	}
	return o, off, nil
}
