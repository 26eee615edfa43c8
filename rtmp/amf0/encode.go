package amf0

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"
)

// Append appends the AMF0 encoding of v to b. Accepted Go types:
// float64 and the other integer and float types (as numbers), bool, string
// (a long string above 65535 bytes), nil (null), Undefined, Unsupported,
// Object, ECMAArray, map[string]any (an object with sorted keys),
// TypedObject, []any and []string (strict arrays), time.Time (date),
// XMLDocument.
func Append(b []byte, v any) ([]byte, error) {
	b, err := appendAMF0(b, v, 0)
	return b, prefixed(err)
}

// AppendValues appends the AMF0 encodings of vs in order, as in a command
// or data message body.
func AppendValues(b []byte, vs ...any) ([]byte, error) {
	var err error
	for _, v := range vs {
		if b, err = appendAMF0(b, v, 0); err != nil {
			return b, prefixed(err)
		}
	}
	return b, nil
}

// AppendNumber appends f as an AMF0 number (marker 0x00, §2.2).
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

// AppendString appends s as an AMF0 string (marker 0x02, §2.4), or as a
// long string (marker 0x0C, §2.14) when it is longer than 65535 bytes.
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
