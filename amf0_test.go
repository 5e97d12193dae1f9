package main

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// amf0Golden is one row of the golden table. It drives TestDecodeAMF0Golden,
// TestAppendAMF0Golden, TestDecodeAMF0Truncated and the FuzzAMF0 seeds.
type amf0Golden struct {
	name  string
	value any    // the Go value DecodeAMF0(wire) returns
	wire  []byte // the AMF0 bytes, annotated per field
	// decodeOnly marks a valid but non-canonical wire form: AppendAMF0(value)
	// writes different (canonical) bytes that decode to the same value.
	decodeOnly bool
}

var amf0Connect = Object{
	{"app", "live"},
	{"type", "nonprivate"},
	{"flashVer", "FMLE/3.0 (compatible; Lavf61.7.100)"},
	{"tcUrl", "rtmp://localhost:1935/live"},
	{"fpad", false},
	{"capabilities", 15.0},
	{"fourCcList", StrictArray{"av01", "hvc1", "vp09"}},
	{"objectEncoding", 0.0},
}

var amf0GoldenTable = []amf0Golden{
	// 2.2 Number: marker 0x00, then an 8-byte big-endian IEEE-754 double.
	{name: "number 0", value: 0.0, wire: wire(
		0x00,                                           // number-marker
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE 0
	)},
	{name: "number 1", value: 1.0, wire: wire(
		0x00,                                           // number-marker
		0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE 1 (sign 0, exponent 0x3FF, fraction 0)
	)},
	{name: "number 1.5", value: 1.5, wire: wire(
		0x00,                                           // number-marker
		0x3F, 0xF8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE 1.5 (fraction .1 binary)
	)},
	{name: "number -0", value: math.Copysign(0, -1), wire: wire(
		0x00,                                           // number-marker
		0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE -0: only the sign bit
	)},
	{name: "number +Inf", value: math.Inf(1), wire: wire(
		0x00,                                           // number-marker
		0x7F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE +Inf: exponent all ones, fraction 0
	)},
	{name: "number NaN", value: math.Float64frombits(0x7FF8000000000000), wire: wire(
		0x00,                                           // number-marker
		0x7F, 0xF8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE quiet NaN; bits are kept exactly
	)},

	// 2.3 Boolean: marker 0x01, then U8 (0 false, anything else true).
	{name: "boolean false", value: false, wire: wire(
		0x01, // boolean-marker
		0x00, // U8 0: false
	)},
	{name: "boolean true", value: true, wire: wire(
		0x01, // boolean-marker
		0x01, // U8 1: true
	)},
	{name: "boolean true as 0x02", value: true, decodeOnly: true, wire: wire(
		0x01, // boolean-marker
		0x02, // U8 2: any non-zero is true; the encoder writes 0x01
	)},

	// 2.4 String: marker 0x02, U16 byte length, UTF-8 bytes.
	{name: "string empty", value: "", wire: wire(
		0x02,       // string-marker
		0x00, 0x00, // U16 length 0 (UTF-8-empty)
	)},
	{name: "string connect", value: "connect", wire: wire(
		0x02,       // string-marker
		0x00, 0x07, // U16 length 7
		"connect", // UTF-8
	)},
	{name: "string utf-8", value: "héllo 直播", wire: wire(
		0x02,       // string-marker
		0x00, 0x0D, // U16 length 13: a length in bytes, not characters
		"héllo 直播", // UTF-8: é is 2 bytes, 直 and 播 3 each
	)},
	{name: "string 65535 bytes", value: strings.Repeat("b", 65535), wire: wire(
		0x02,       // string-marker: the longest String
		0xFF, 0xFF, // U16 length 65535
		strings.Repeat("b", 65535),
	)},

	// 2.14 Long String: marker 0x0C, U32 byte length, UTF-8 bytes.
	{name: "long string 65536 bytes", value: strings.Repeat("a", 65536), wire: wire(
		0x0C,                   // long-string-marker: needed above 65535 bytes
		0x00, 0x01, 0x00, 0x00, // U32 length 65536
		strings.Repeat("a", 65536),
	)},
	{name: "long string short", value: "hi", decodeOnly: true, wire: wire(
		0x0C,                   // long-string-marker, legal for any length
		0x00, 0x00, 0x00, 0x02, // U32 length 2
		"hi", // UTF-8; the encoder writes a String instead
	)},

	// 2.7 null and 2.8 undefined: a marker and nothing else.
	{name: "null", value: nil, wire: wire(
		0x05, // null-marker
	)},
	{name: "undefined", value: Undefined{}, wire: wire(
		0x06, // undefined-marker
	)},

	// 2.5 Object: marker 0x03, (UTF-8 key, value)*, then 00 00 09.
	{name: "object empty", value: Object{}, wire: wire(
		0x03,       // object-marker
		0x00, 0x00, // UTF-8-empty key ...
		0x09, // ... then object-end-marker (2.11)
	)},
	{name: "object onStatus info", value: Object{
		{"level", "status"},
		{"code", "NetStream.Publish.Start"},
	}, wire: wire(
		0x03,                // object-marker
		0x00, 0x05, "level", // key: U16 length 5, UTF-8
		0x02, 0x00, 0x06, "status", // value: string-marker, U16 length 6, UTF-8
		0x00, 0x04, "code", // key
		0x02, 0x00, 0x17, "NetStream.Publish.Start", // value: string of 23 bytes
		0x00, 0x00, 0x09, // empty key + object-end-marker
	)},
	{name: "object nested", value: Object{
		{"a", Object{{"b", nil}}},
	}, wire: wire(
		0x03,            // object-marker
		0x00, 0x01, "a", // key "a"
		0x03,            // value: object-marker (nesting depth 2)
		0x00, 0x01, "b", // key "b"
		0x05,             // value: null-marker
		0x00, 0x00, 0x09, // end of inner object
		0x00, 0x00, 0x09, // end of outer object
	)},
	{name: "object empty key with value", value: Object{{"", 1.0}}, wire: wire(
		0x03,       // object-marker
		0x00, 0x00, // key "": not the end, because no 0x09 follows
		0x00, 0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // value: number 1
		0x00, 0x00, 0x09, // empty key + object-end-marker
	)},
	{name: "connect command object", value: amf0Connect, wire: wire(
		0x03,              // object-marker: the command object of "connect" (RTMP 7.2.1.1), as ffmpeg sends it
		0x00, 0x03, "app", // key
		0x02, 0x00, 0x04, "live", // string: application name
		0x00, 0x04, "type", // key
		0x02, 0x00, 0x0A, "nonprivate", // string
		0x00, 0x08, "flashVer", // key
		0x02, 0x00, 0x23, "FMLE/3.0 (compatible; Lavf61.7.100)", // string of 35 bytes
		0x00, 0x05, "tcUrl", // key
		0x02, 0x00, 0x1A, "rtmp://localhost:1935/live", // string of 26 bytes
		0x00, 0x04, "fpad", // key
		0x01, 0x00, // boolean false: no proxy
		0x00, 0x0C, "capabilities", // key
		0x00, 0x40, 0x2E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // number 15
		0x00, 0x0A, "fourCcList", // key: Enhanced RTMP codec list
		0x0A, 0x00, 0x00, 0x00, 0x03, // strict-array-marker, U32 count 3
		0x02, 0x00, 0x04, "av01", // [0]
		0x02, 0x00, 0x04, "hvc1", // [1]
		0x02, 0x00, 0x04, "vp09", // [2]
		0x00, 0x0E, "objectEncoding", // key
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // number 0: AMF0
		0x00, 0x00, 0x09, // empty key + object-end-marker
	)},

	// 2.10 ECMA Array: marker 0x08, U32 count, properties as in Object.
	{name: "ecma array empty", value: ECMAArray{}, wire: wire(
		0x08,                   // ecma-array-marker
		0x00, 0x00, 0x00, 0x00, // U32 associative-count 0
		0x00, 0x00, 0x09, // empty key + object-end-marker
	)},
	{name: "ecma array onMetaData", value: ECMAArray{
		{"width", 1280.0},
		{"height", 720.0},
		{"videocodecid", 7.0},
		{"encoder", "Lavf61.7.100"},
	}, wire: wire(
		0x08,                   // ecma-array-marker
		0x00, 0x00, 0x00, 0x04, // U32 associative-count 4
		0x00, 0x05, "width", // key
		0x00, 0x40, 0x94, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // number 1280
		0x00, 0x06, "height", // key
		0x00, 0x40, 0x86, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, // number 720
		0x00, 0x0C, "videocodecid", // key
		0x00, 0x40, 0x1C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // number 7: AVC
		0x00, 0x07, "encoder", // key
		0x02, 0x00, 0x0C, "Lavf61.7.100", // string
		0x00, 0x00, 0x09, // empty key + object-end-marker
	)},
	{name: "ecma array count 0 but one property", value: ECMAArray{{"x", true}}, decodeOnly: true, wire: wire(
		0x08,                   // ecma-array-marker
		0x00, 0x00, 0x00, 0x00, // U32 associative-count 0: wrong, but only a hint
		0x00, 0x01, "x", // key
		0x01, 0x01, // boolean true
		0x00, 0x00, 0x09, // the end marker, not the count, ends the array
	)},
	{name: "ecma array huge count hint", value: ECMAArray{}, decodeOnly: true, wire: wire(
		0x08,                   // ecma-array-marker
		0xFF, 0xFF, 0xFF, 0xFF, // U32 associative-count 2^32-1: a lie, ignored
		0x00, 0x00, 0x09, // empty key + object-end-marker
	)},

	// 2.12 Strict Array: marker 0x0A, U32 count, that many values.
	{name: "strict array empty", value: StrictArray{}, wire: wire(
		0x0A,                   // strict-array-marker
		0x00, 0x00, 0x00, 0x00, // U32 array-count 0
	)},
	{name: "strict array mixed", value: StrictArray{2.5, "a", nil, StrictArray{}}, wire: wire(
		0x0A,                   // strict-array-marker
		0x00, 0x00, 0x00, 0x04, // U32 array-count 4
		0x00, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // [0] number 2.5
		0x02, 0x00, 0x01, "a", // [1] string "a"
		0x05,                         // [2] null
		0x0A, 0x00, 0x00, 0x00, 0x00, // [3] empty strict array
	)},

	// 2.13 Date: marker 0x0B, DOUBLE milliseconds, S16 time zone.
	{name: "date", value: Date{Millis: 1732406400000}, wire: wire(
		0x0B,                                           // date-marker
		0x42, 0x79, 0x35, 0xB7, 0x7D, 0x40, 0x00, 0x00, // DOUBLE 1732406400000 ms: 2024-11-24T00:00:00Z
		0x00, 0x00, // S16 time-zone 0, as the spec asks
	)},
	{name: "date with time zone", value: Date{Millis: -1, TimeZone: -300}, wire: wire(
		0x0B,                                           // date-marker
		0xBF, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DOUBLE -1 ms: just before the epoch
		0xFE, 0xD4, // S16 time-zone -300: reserved, but kept as sent
	)},
}

// amf0GoldenRow returns the wire bytes of the named row.
func amf0GoldenRow(t testing.TB, name string) []byte {
	for _, g := range amf0GoldenTable {
		if g.name == name {
			return g.wire
		}
	}
	t.Fatalf("no golden row %q", name)
	return nil
}

// amf0TestEqual compares decoded values. Numbers compare by their bits, so
// NaN equals the same NaN and -0 differs from +0; nil and empty containers
// are equal.
func amf0TestEqual(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case Date:
		b, ok := b.(Date)
		return ok && math.Float64bits(a.Millis) == math.Float64bits(b.Millis) && a.TimeZone == b.TimeZone
	case Object:
		b, ok := b.(Object)
		return ok && amf0TestEqualProps(a, b)
	case ECMAArray:
		b, ok := b.(ECMAArray)
		return ok && amf0TestEqualProps(a, b)
	case StrictArray:
		b, ok := b.(StrictArray)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !amf0TestEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func amf0TestEqualProps(a, b []Property) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !amf0TestEqual(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func TestDecodeAMF0Golden(t *testing.T) {
	for _, g := range amf0GoldenTable {
		in := append(bytes.Clone(g.wire), 0xEE) // a trailing byte that must be left alone
		v, rest, err := DecodeAMF0(in)
		if err != nil {
			t.Errorf("%s: DecodeAMF0: %v", g.name, err)
			continue
		}
		if !bytes.Equal(rest, []byte{0xEE}) {
			t.Errorf("%s: rest = % x, want ee", g.name, rest)
		}
		if !amf0TestEqual(v, g.value) {
			t.Errorf("%s: DecodeAMF0 = %#v, want %#v", g.name, v, g.value)
		}
	}
}

func TestAppendAMF0Golden(t *testing.T) {
	prefix := []byte("prefix")
	for _, g := range amf0GoldenTable {
		got, err := AppendAMF0(bytes.Clone(prefix), g.value)
		if err != nil {
			t.Errorf("%s: AppendAMF0: %v", g.name, err)
			continue
		}
		if !bytes.HasPrefix(got, prefix) {
			t.Errorf("%s: AppendAMF0 lost the bytes already in dst", g.name)
			continue
		}
		got = got[len(prefix):]
		if g.decodeOnly {
			// The canonical form must differ (else the row is mislabelled)
			// and decode to the same value.
			v, rest, err := DecodeAMF0(got)
			if bytes.Equal(got, g.wire) || err != nil || len(rest) != 0 || !amf0TestEqual(v, g.value) {
				t.Errorf("%s: canonical form % x decodes to %#v, %v", g.name, got, v, err)
			}
			continue
		}
		if !bytes.Equal(got, g.wire) {
			t.Errorf("%s: AppendAMF0 =\n% x\nwant\n% x", g.name, got, g.wire)
		}
	}
}

// Every strict prefix of a golden value is a truncated value.
func TestDecodeAMF0Truncated(t *testing.T) {
	for _, g := range amf0GoldenTable {
		for n := range len(g.wire) {
			in := g.wire[:n]
			v, rest, err := DecodeAMF0(in)
			var fe AMF0Error
			if !errors.As(err, &fe) || v != nil || len(rest) != n {
				t.Errorf("%s: DecodeAMF0 of %d of %d bytes = %v, %d bytes left, %v; want AMF0Error, nothing consumed",
					g.name, n, len(g.wire), v, len(rest), err)
				break
			}
		}
	}
}

var amf0ErrorTable = []struct {
	name string
	in   []byte
	want string // part of the error message
}{
	{"empty input", nil, "no type marker"},
	{"number cut", wire(0x00, 0x3F, 0xF0, 0x00), "truncated number: need 8 bytes, have 3"},
	{"boolean without body", wire(0x01), "truncated boolean"},
	{"string length cut", wire(0x02, 0x00), "truncated string length"},
	{"string body cut", wire(0x02, 0x00, 0x05, "ab"), "truncated string: need 5 bytes, have 2"},
	{"huge string length, short buffer", wire(0x02, 0xFF, 0xFF, "a"), "need 65535 bytes, have 1"},
	{"huge long string length", wire(0x0C, 0xFF, 0xFF, 0xFF, 0xFF, "a"), "need 4294967295 bytes, have 1"},
	{"long string length cut", wire(0x0C, 0x00, 0x00, 0x01), "truncated long string length"},
	{"huge strict array count", wire(0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05), "strict array count 4294967295 exceeds the 1 bytes left"},
	{"strict array element cut", wire(0x0A, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00), "truncated string length"},
	{"strict array count cut", wire(0x0A, 0x00, 0x00), "truncated strict array count"},
	{"object without end", wire(0x03, 0x00, 0x03, "app", 0x05), "truncated property key length"},
	{"object key cut", wire(0x03, 0x00, 0x05, "a"), "truncated property key: need 5 bytes, have 1"},
	{"object empty key then nothing", wire(0x03, 0x00, 0x00), "no type marker"},
	{"object end as a value", wire(0x03, 0x00, 0x01, "a", 0x09), "object-end marker (0x09) where a value was expected"},
	{"object error deep inside", wire(0x03, 0x00, 0x01, "a", 0x03, 0x00, 0x01, "b", 0x07, 0x00, 0x00), "reference marker (0x07) is not supported"},
	{"ecma array without end marker", wire(0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, "a", 0x05), "truncated property key length"},
	{"ecma array count cut", wire(0x08, 0x00, 0x00), "truncated ECMA array count"},
	{"date without time zone", wire(0x0B, 0x42, 0x79, 0x35, 0xB7, 0x7D, 0x40, 0x00, 0x00), "truncated date: need 10 bytes, have 8"},
	{"bare object end", wire(0x09), "object-end marker (0x09) where a value was expected"},
	{"reference", wire(0x07, 0x00, 0x01), "reference marker (0x07) is not supported"},
	{"movieclip", wire(0x04), "movieclip marker (0x04) is not supported"},
	{"unsupported", wire(0x0D), "unsupported marker (0x0d) is not supported"},
	{"recordset", wire(0x0E), "recordset marker (0x0e) is not supported"},
	{"xml document", wire(0x0F, 0x00, 0x00, 0x00, 0x01, "x"), "xml-document marker (0x0f) is not supported"},
	{"typed object", wire(0x10, 0x00, 0x01, "T", 0x00, 0x00, 0x09), "typed-object marker (0x10) is not supported"},
	{"avmplus switch to AMF3", wire(0x11, 0x02), "avmplus-object marker (0x11) is not supported"},
	{"unknown marker 0x12", wire(0x12), "unknown type marker 0x12"},
	{"unknown marker 0xff", wire(0xFF), "unknown type marker 0xff"},
	{"depth bomb: 33 nested strict arrays", wire(bytes.Repeat(wire(0x0A, 0x00, 0x00, 0x00, 0x01), 33), 0x05), "strict-array nested deeper than 32 containers"},
	{"depth bomb: 100000 nested objects", bytes.Repeat(wire(0x03, 0x00, 0x01, "a"), 100000), "object nested deeper than 32 containers"},
	{"depth bomb: 33 nested ecma arrays", bytes.Repeat(wire(0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, "k"), 33), "ecma-array nested deeper than 32 containers"},
}

func TestDecodeAMF0Errors(t *testing.T) {
	for _, tc := range amf0ErrorTable {
		v, rest, err := DecodeAMF0(tc.in)
		var fe AMF0Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: DecodeAMF0 = %#v, %v; want an AMF0Error", tc.name, v, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
		if v != nil || len(rest) != len(tc.in) {
			t.Errorf("%s: on error got v=%#v and %d of %d bytes left", tc.name, v, len(rest), len(tc.in))
		}
	}
}

// amf0Nest wraps v in n containers, alternating the three kinds.
func amf0Nest(v any, n int) any {
	for i := range n {
		switch i % 3 {
		case 0:
			v = StrictArray{v}
		case 1:
			v = Object{{"o", v}}
		default:
			v = ECMAArray{{"e", v}}
		}
	}
	return v
}

func TestAMF0DepthLimit(t *testing.T) {
	deepest := amf0Nest("leaf", amf0MaxDepth)
	b, err := AppendAMF0(nil, deepest)
	if err != nil {
		t.Fatalf("AppendAMF0 of %d nested containers: %v", amf0MaxDepth, err)
	}
	v, rest, err := DecodeAMF0(b)
	if err != nil || len(rest) != 0 || !amf0TestEqual(v, deepest) {
		t.Fatalf("DecodeAMF0 of %d nested containers = %v, %d bytes left, %v", amf0MaxDepth, v, len(rest), err)
	}

	tooDeep := amf0Nest("leaf", amf0MaxDepth+1)
	if _, err := AppendAMF0(nil, tooDeep); !errors.Is(err, errAMF0Unencodable) {
		t.Errorf("AppendAMF0 of %d nested containers: err = %v, want errAMF0Unencodable", amf0MaxDepth+1, err)
	}
	// The same bytes, one container deeper, must be refused by the decoder.
	b = append(wire(0x0A, 0x00, 0x00, 0x00, 0x01), b...)
	var fe AMF0Error
	if _, _, err := DecodeAMF0(b); !errors.As(err, &fe) {
		t.Errorf("DecodeAMF0 of %d nested containers: err = %v, want AMF0Error", amf0MaxDepth+1, err)
	}
}

// A realistic command message body: "connect", transaction ID 1, and the
// command object, exactly as ffmpeg sends them (RTMP 7.2.1.1).
func TestAMF0ConnectCommand(t *testing.T) {
	body := wire(
		amf0GoldenRow(t, "string connect"),         // command name
		amf0GoldenRow(t, "number 1"),               // transaction ID
		amf0GoldenRow(t, "connect command object"), // command object
	)
	vs, err := DecodeAMF0All(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"connect", 1.0, amf0Connect}
	if len(vs) != len(want) {
		t.Fatalf("DecodeAMF0All returned %d values, want %d", len(vs), len(want))
	}
	for i := range want {
		if !amf0TestEqual(vs[i], want[i]) {
			t.Errorf("value %d = %#v, want %#v", i, vs[i], want[i])
		}
	}
	cmd, ok := vs[2].(Object)
	if !ok {
		t.Fatalf("command object is %T, want Object", vs[2])
	}
	if app, url := cmd.String("app"), cmd.String("tcUrl"); app != "live" || url != "rtmp://localhost:1935/live" {
		t.Errorf("app, tcUrl = %q, %q", app, url)
	}
	if enc, ok := cmd.Number("objectEncoding"); !ok || enc != 0 {
		t.Errorf("objectEncoding = %v, %v; want 0, true", enc, ok)
	}
	if list, _ := cmd.Get("fourCcList"); !amf0TestEqual(list, StrictArray{"av01", "hvc1", "vp09"}) {
		t.Errorf("fourCcList = %#v", list)
	}
	out, err := AppendAMF0All([]byte{0xAA}, want...)
	if err != nil || !bytes.Equal(out, append([]byte{0xAA}, body...)) {
		t.Errorf("AppendAMF0All =\n% x, %v\nwant\n% x", out, err, body)
	}
}

func TestDecodeAMF0All(t *testing.T) {
	if vs, err := DecodeAMF0All(nil); err != nil || len(vs) != 0 {
		t.Errorf("DecodeAMF0All(nil) = %v, %v; want nothing", vs, err)
	}
	// A good value, then a reference: the error names value 1.
	_, err := DecodeAMF0All(wire(0x05, 0x07, 0x00, 0x00))
	var fe AMF0Error
	if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "value 1: ") {
		t.Errorf("DecodeAMF0All error = %v; want an AMF0Error for value 1", err)
	}
}

func TestAppendAMF0GoNumbers(t *testing.T) {
	want := amf0GoldenRow(t, "number 1")
	for _, v := range []any{1.0, float32(1), int(1), int8(1), int16(1), int32(1), int64(1),
		uint(1), uint8(1), uint16(1), uint32(1), uint64(1)} {
		got, err := AppendAMF0(nil, v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendAMF0(%T 1) = % x, %v; want % x", v, got, err, want)
		}
	}
}

func TestAppendAMF0Errors(t *testing.T) {
	cyclic := Object{{"self", nil}}
	cyclic[0].Value = cyclic // shares its backing array: infinitely deep
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"map", map[string]any{"a": 1}},
		{"slice of any is not a StrictArray", []any{1}},
		{"struct", struct{}{}},
		{"pointer", new(float64)},
		{"bad type deep inside", Object{{"a", StrictArray{ECMAArray{{"c", make(chan int)}}}}}},
		{"key longer than 65535 bytes", Object{{strings.Repeat("k", 65536), nil}}},
		{"cyclic object", cyclic},
	} {
		dst := []byte("keep")
		got, err := AppendAMF0(dst, tc.v)
		if !errors.Is(err, errAMF0Unencodable) {
			t.Errorf("%s: err = %v, want errAMF0Unencodable", tc.name, err)
		}
		if string(got) != "keep" {
			t.Errorf("%s: dst changed to %q", tc.name, got)
		}
		got, err = AppendAMF0All(dst, "ok", tc.v)
		if !errors.Is(err, errAMF0Unencodable) || string(got) != "keep" || !strings.HasPrefix(err.Error(), "value 1: ") {
			t.Errorf("%s: AppendAMF0All = %q, %v", tc.name, got, err)
		}
	}
}

func TestAMF0Accessors(t *testing.T) {
	props := []Property{
		{"name", "first"},
		{"n", 5}, // a Go int counts as a number
		{"f", 2.5},
		{"name", "last"}, // a later duplicate wins
		{"nil", nil},
	}
	for _, c := range []interface {
		Get(string) (any, bool)
		String(string) string
		Number(string) (float64, bool)
	}{Object(props), ECMAArray(props)} {
		if s := c.String("name"); s != "last" {
			t.Errorf("%T String(name) = %q, want last", c, s)
		}
		if s := c.String("f"); s != "" {
			t.Errorf("%T String(f) = %q, want empty: not a string", c, s)
		}
		if n, ok := c.Number("n"); !ok || n != 5 {
			t.Errorf("%T Number(n) = %v, %v", c, n, ok)
		}
		if n, ok := c.Number("f"); !ok || n != 2.5 {
			t.Errorf("%T Number(f) = %v, %v", c, n, ok)
		}
		if _, ok := c.Number("name"); ok {
			t.Errorf("%T Number(name) ok for a string", c)
		}
		if v, ok := c.Get("nil"); !ok || v != nil {
			t.Errorf("%T Get(nil) = %v, %v; want nil, true", c, v, ok)
		}
		if _, ok := c.Get("missing"); ok {
			t.Errorf("%T Get(missing) found something", c)
		}
	}
}

func TestAMF0MarkerString(t *testing.T) {
	for m, want := range map[amf0Marker]string{
		amf0NumberMarker:      "number",
		amf0ECMAArrayMarker:   "ecma-array",
		amf0ObjectEndMarker:   "object-end",
		amf0LongStringMarker:  "long-string",
		amf0AVMPlusMarker:     "avmplus-object",
		amf0AVMPlusMarker + 1: "amf0Marker(0x12)",
	} {
		if got := m.String(); got != want {
			t.Errorf("amf0Marker(%d).String() = %q, want %q", uint8(m), got, want)
		}
	}
}

// A lying ECMA count must not reserve memory in proportion to the buffer.
func TestDecodeAMF0CountHintIsCapped(t *testing.T) {
	in := wire(amf0GoldenRow(t, "ecma array huge count hint"), make([]byte, 8<<20))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v, rest, err := DecodeAMF0(in)
	runtime.ReadMemStats(&after)
	if err != nil || len(rest) != 8<<20 || !amf0TestEqual(v, ECMAArray{}) {
		t.Fatalf("DecodeAMF0 = %v, %d bytes left, %v", v, len(rest), err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("decoding an empty ECMA array allocated %d bytes", n)
	}
}

// FuzzAMF0 checks that decoding never panics, that failures are
// AMF0Errors which consume nothing, and that a decoded value survives
// encode -> decode unchanged (numbers bit for bit, so NaN is fine).
func FuzzAMF0(f *testing.F) {
	for _, g := range amf0GoldenTable {
		f.Add(g.wire)
	}
	for _, tc := range amf0ErrorTable {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodeAMF0All(data) // must not panic
		v, rest, err := DecodeAMF0(data)
		if err != nil {
			var fe AMF0Error
			if !errors.As(err, &fe) || len(rest) != len(data) {
				t.Fatalf("error %v (%T) with %d of %d bytes left", err, err, len(rest), len(data))
			}
			return
		}
		if len(rest) >= len(data) || !bytes.Equal(rest, data[len(data)-len(rest):]) {
			t.Fatalf("rest is not a proper suffix of the input")
		}
		enc, err := AppendAMF0(nil, v)
		if err != nil {
			t.Fatalf("AppendAMF0 of a decoded value: %v", err)
		}
		v2, rest2, err := DecodeAMF0(enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-decode: %v, %d bytes left", err, len(rest2))
		}
		if !amf0TestEqual(v, v2) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v, v2)
		}
		if enc2, _ := AppendAMF0(nil, v2); !bytes.Equal(enc, enc2) {
			t.Fatalf("canonical encoding is not stable")
		}
	})
}
