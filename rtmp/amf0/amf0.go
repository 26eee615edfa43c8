package amf0

import (
	"errors"
	"fmt"
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

// DefaultMaxDepth is how deeply objects and arrays may nest in decoded AMF
// (Decoder.MaxDepth).
const DefaultMaxDepth = 32

// DefaultMaxValues is how many values one Decoder call may produce
// (Decoder.MaxValues).
const DefaultMaxValues = 1 << 16

// AMF errors; test with errors.Is.
var (
	// ErrMalformed: malformed or truncated AMF data, or more values than
	// Decoder.MaxValues.
	ErrMalformed = errors.New("amf0: malformed AMF")
	// ErrDepth: objects nested deeper than the decoder allows.
	ErrDepth = errors.New("amf0: AMF nesting too deep")
	// ErrType: a Go value Append cannot encode.
	ErrType = errors.New("amf0: value not encodable as AMF0")
)

// prefixed gives the errors that leave the package the "amf0: " prefix
// that the sentinels have (as flv's errors start with "flv: "). The inner
// wraps (a property, an element) leave it out, so that it is written once
// in front and once more by the sentinel at the end.
func prefixed(err error) error {
	if err == nil || err == ErrMalformed || err == ErrDepth || err == ErrType {
		return err
	}
	return fmt.Errorf("amf0: %w", err)
}

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
