package amf0

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAMF0RoundTrip(t *testing.T) {
	date := time.UnixMilli(1700000000123).UTC()
	long := strings.Repeat("x", 70000)
	values := []any{
		0.0, 1.5, -3.25, math.MaxFloat64, math.Inf(1),
		true, false,
		"", "hello", long,
		nil, Undefined{}, Unsupported{},
		Object{{"a", 1.0}, {"b", "two"}, {"c", Object{{"d", nil}}}},
		ECMAArray{{"duration", 0.0}, {"width", 320.0}, {"encoder", "Lavf59"}},
		[]any{1.0, "x", Object{}, []any{}},
		date,
		XMLDocument("<a/>"),
		TypedObject{ClassName: "flex.Msg", Properties: Object{{"x", 1.0}}},
		Object{},
	}
	for _, v := range values {
		b, err := Append(nil, v)
		if err != nil {
			t.Fatalf("encode %T: %v", v, err)
		}
		got, n, err := Decode(b)
		if err != nil || n != len(b) {
			t.Fatalf("decode %T: n=%d/%d %v", v, n, len(b), err)
		}
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip %T: got %#v", v, got)
		}
	}
	// Conversions on encode.
	for _, c := range []struct {
		in   any
		want any
	}{
		{int(7), 7.0}, {uint32(8), 8.0}, {int64(-9), -9.0}, {float32(0.5), 0.5}, {uint8(1), 1.0},
		{map[string]any{"b": 2, "a": "x"}, Object{{"a", "x"}, {"b", 2.0}}},
		{[]string{"avc1", "hvc1"}, []any{"avc1", "hvc1"}},
	} {
		b, err := Append(nil, c.in)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T: got %#v, %v", c.in, got, err)
		}
	}
	if _, err := Append(nil, struct{}{}); !errors.Is(err, ErrType) {
		t.Errorf("struct: %v", err)
	}
}

func TestAMF0Quirks(t *testing.T) {
	t.Run("ECMA array count wrong and end marker present", func(t *testing.T) {
		b := unhex(t, "08 00000005 0001 61 0101 000009")
		v, n, err := Decode(b)
		if err != nil || n != len(b) || !reflect.DeepEqual(v, ECMAArray{{"a", true}}) {
			t.Errorf("%#v %d %v", v, n, err)
		}
	})
	t.Run("ECMA array without end marker at end of data", func(t *testing.T) {
		b := unhex(t, "08 00000001 0001 61 0101")
		v, _, err := Decode(b)
		if err != nil || !reflect.DeepEqual(v, ECMAArray{{"a", true}}) {
			t.Errorf("%#v %v", v, err)
		}
	})
	t.Run("strict array in connect object (eRTMP fourCcList, MediaMTX #3188)", func(t *testing.T) {
		b, _ := AppendValues(nil, "connect", 1, Object{{"app", "live"}, {"fourCcList", []any{"av01", "vp09", "hvc1"}}})
		vs, err := DecodeAll(b)
		if err != nil || len(vs) != 3 {
			t.Fatal(vs, err)
		}
		l, _ := vs[2].(Object).Get("fourCcList")
		if !reflect.DeepEqual(l, []any{"av01", "vp09", "hvc1"}) {
			t.Errorf("fourCcList %#v", l)
		}
	})
	t.Run("stray object end between values (MediaMTX #2077)", func(t *testing.T) {
		b := unhex(t, "02 0003 616263 09 05")
		vs, err := DecodeAll(b)
		if err != nil || !reflect.DeepEqual(vs, []any{"abc", nil}) {
			t.Errorf("%#v %v", vs, err)
		}
	})
	t.Run("reference", func(t *testing.T) {
		b := unhex(t, "0a 00000002 03 0001 78 00 4000000000000000 000009 07 0001")
		v, _, err := Decode(b)
		o := Object{{"x", 2.0}}
		if err != nil || !reflect.DeepEqual(v, []any{o, o}) {
			t.Errorf("%#v %v", v, err)
		}
		// A reference to the object being decoded (a cycle) is refused.
		if _, _, err := Decode(unhex(t, "03 0001 78 07 0000 000009")); !errors.Is(err, ErrMalformed) {
			t.Errorf("cycle: %v", err)
		}
	})
	t.Run("AVM+ switch to AMF3", func(t *testing.T) {
		// AMF3 object: dynamic anonymous, {"app": "live", "n": 5, "l": [1, 2]}
		b := unhex(t, `11 0a 0b 01 07 617070 06 096c697665 03 6e 04 05 03 6c 09 05 01 04 01 04 02 01`)
		v, n, err := Decode(b)
		want := Object{{"app", "live"}, {"n", 5.0}, {"l", []any{1.0, 2.0}}}
		if err != nil || n != len(b) || !reflect.DeepEqual(v, want) {
			t.Errorf("%#v %d %v", v, n, err)
		}
	})
}

func TestAMF0Errors(t *testing.T) {
	deep := bytes.Repeat([]byte{0x0a, 0, 0, 0, 1}, 100)
	for name, b := range map[string][]byte{
		"empty":          {},
		"short number":   {0, 1, 2},
		"short string":   {2, 0, 5, 'a'},
		"long string":    {0x0c, 0xff, 0xff, 0xff, 0xff, 'a'},
		"huge array":     {0x0a, 0xff, 0xff, 0xff, 0xff, 5},
		"bad marker":     {0x04},
		"recordset":      {0x0e},
		"unterminated":   {3, 0, 1, 'a', 5},
		"bad reference":  {7, 0, 3},
		"deep":           deep,
		"date NaN":       {0x0b, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 0, 0},
		"amf3 truncated": {0x11, 0x06, 0x09, 'a'},
		"amf3 deep":      append([]byte{0x11}, bytes.Repeat([]byte{0x09, 0x03, 0x01}, 100)...),
	} {
		if _, _, err := Decode(b); err == nil {
			t.Errorf("%s: no error", name)
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDepth) {
			t.Errorf("%s: %v is neither ErrMalformed nor ErrDepth", name, err)
		}
	}
}

func TestAMF0MaxValues(t *testing.T) {
	b := append([]byte{0x0a, 0, 1, 0, 0}, bytes.Repeat([]byte{0x05}, 1<<16)...)
	if _, _, err := Decode(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("65536 nulls: %v", err)
	}
	d := Decoder{MaxValues: 3}
	if _, err := d.DecodeAll([]byte{5, 5, 5}); err != nil {
		t.Errorf("3 values: %v", err)
	}
	if _, err := d.DecodeAll([]byte{5, 5, 5, 5}); !errors.Is(err, ErrMalformed) {
		t.Errorf("4 values: %v", err)
	}
	amf3 := append([]byte{0x11, 0x09, 0x83, 0x80, 0x01, 0x01}, bytes.Repeat([]byte{0x01}, 1<<15)...) // dense array of 32768 nulls
	if _, _, err := (&Decoder{MaxValues: 1000}).Decode(amf3); !errors.Is(err, ErrMalformed) {
		t.Errorf("AMF3 array: %v", err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
