// Action Message Format AMF 0, as specified by Adobe in "Action Message
// Format -- AMF 0" (December 2007). RTMP carries AMF0 in command messages
// (type 20: connect, createStream, publish, onStatus ...) and data messages
// (type 18: @setDataFrame, onMetaData).
//
// Every value is a 1-byte type marker (section 2.1) followed by a body:
//
//	Section 2.2   Number        0x00  DOUBLE: 8-byte IEEE-754, big-endian
//	Section 2.3   Boolean       0x01  U8: 0 is false, anything else true
//	Section 2.4   String        0x02  U16 byte length, then UTF-8
//	Section 2.5   Object        0x03  (U16-length key, value)*, then 00 00 09
//	Section 2.6   Movieclip     0x04  reserved, never used: rejected
//	Section 2.7   null          0x05  no body
//	Section 2.8   undefined     0x06  no body
//	Section 2.9   Reference     0x07  U16 index of an earlier complex value:
//	                                  rejected (no RTMP peer sends it)
//	Section 2.10  ECMA Array    0x08  U32 count, then properties as in 2.5
//	Section 2.11  Object End    0x09  only after an empty key; ends 2.5/2.10
//	Section 2.12  Strict Array  0x0A  U32 count, then that many values
//	Section 2.13  Date          0x0B  DOUBLE ms since 1970 UTC, S16 time zone
//	Section 2.14  Long String   0x0C  U32 byte length, then UTF-8
//	Sections 2.15-2.18 (unsupported, recordset, XML document, typed object)
//	and 3.1 (avmplus-object-marker, the switch to AMF 3): rejected.
//
// Go mapping: Number is float64, Boolean bool, String and Long String
// string, null nil, undefined Undefined, and Object, ECMAArray,
// StrictArray, Date the named types below. Strings are kept as the bytes
// sent; UTF-8 validity is not checked, because real encoders put Latin-1
// into metadata and rejecting it helps nobody.
//
// Decoding never panics: every length and count is checked against the
// bytes that remain before anything is allocated, nesting is limited to
// amf0MaxDepth containers, and every failure is an AMF0Error. Decoded values
// never alias the input buffer.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// amf0Marker is the type marker that starts every AMF0 value (section 2.1).
type amf0Marker uint8

const (
	amf0NumberMarker      amf0Marker = 0x00 // 2.2
	amf0BooleanMarker     amf0Marker = 0x01 // 2.3
	amf0StringMarker      amf0Marker = 0x02 // 2.4
	amf0ObjectMarker      amf0Marker = 0x03 // 2.5
	amf0MovieClipMarker   amf0Marker = 0x04 // 2.6, reserved
	amf0NullMarker        amf0Marker = 0x05 // 2.7
	amf0UndefinedMarker   amf0Marker = 0x06 // 2.8
	amf0ReferenceMarker   amf0Marker = 0x07 // 2.9
	amf0ECMAArrayMarker   amf0Marker = 0x08 // 2.10
	amf0ObjectEndMarker   amf0Marker = 0x09 // 2.11
	amf0StrictArrayMarker amf0Marker = 0x0A // 2.12
	amf0DateMarker        amf0Marker = 0x0B // 2.13
	amf0LongStringMarker  amf0Marker = 0x0C // 2.14
	amf0UnsupportedMarker amf0Marker = 0x0D // 2.15
	amf0RecordSetMarker   amf0Marker = 0x0E // 2.16, reserved
	amf0XMLDocumentMarker amf0Marker = 0x0F // 2.17
	amf0TypedObjectMarker amf0Marker = 0x10 // 2.18
	amf0AVMPlusMarker     amf0Marker = 0x11 // 3.1, switch to AMF 3
)

var amf0MarkerNames = [...]string{
	amf0NumberMarker:      "number",
	amf0BooleanMarker:     "boolean",
	amf0StringMarker:      "string",
	amf0ObjectMarker:      "object",
	amf0MovieClipMarker:   "movieclip",
	amf0NullMarker:        "null",
	amf0UndefinedMarker:   "undefined",
	amf0ReferenceMarker:   "reference",
	amf0ECMAArrayMarker:   "ecma-array",
	amf0ObjectEndMarker:   "object-end",
	amf0StrictArrayMarker: "strict-array",
	amf0DateMarker:        "date",
	amf0LongStringMarker:  "long-string",
	amf0UnsupportedMarker: "unsupported",
	amf0RecordSetMarker:   "recordset",
	amf0XMLDocumentMarker: "xml-document",
	amf0TypedObjectMarker: "typed-object",
	amf0AVMPlusMarker:     "avmplus-object",
}

// String returns the marker's name in the specification ("ecma-array").
func (m amf0Marker) String() string {
	if int(m) < len(amf0MarkerNames) {
		return amf0MarkerNames[m]
	}
	return fmt.Sprintf("amf0Marker(0x%02x)", uint8(m))
}

const (
	// amf0MaxDepth is how many containers (Object, ECMA Array, Strict
	// Array) may be nested inside each other. Real commands and metadata
	// use two or three; the limit keeps hostile input off the stack.
	amf0MaxDepth = 32

	// amf0MaxPrealloc caps the capacity reserved from a peer's count. An
	// honest count still works (append grows the slice); a lying one costs
	// nothing.
	amf0MaxPrealloc = 1024

	// amf0MinPropertyLen is the smallest encoded object property: a U16
	// key length and a 1-byte value (null).
	amf0MinPropertyLen = 3
)

// Undefined is the AMF0 undefined value (section 2.8). It differs from
// null (Go nil) only in name; some clients send it as a placeholder.
type Undefined struct{}

// Property is one key/value pair of an Object or ECMA Array.
type Property struct {
	Key   string
	Value any
}

// Object is an anonymous ActionScript object (section 2.5). It is a slice,
// not a map, so that properties keep their wire order.
type Object []Property

// ECMAArray is an associative array (section 2.10), encoded like Object
// with a leading count. FLV onMetaData is usually one.
type ECMAArray []Property

// StrictArray is an ordinal array (section 2.12).
type StrictArray []any

// Date is an AMF0 date (section 2.13): milliseconds since 1970-01-01 UTC
// and a time zone the specification reserves ("should be set to 0x0000").
type Date struct {
	Millis   float64
	TimeZone int16
}

// AMF0Error reports malformed or unsupported AMF0 input.
type AMF0Error string

func (e AMF0Error) Error() string { return "amf0: " + string(e) }

// errAMF0Unencodable is wrapped by AppendAMF0 when a Go value has no AMF0
// form: an unsupported Go type, a string longer than 2^32-1 bytes, a key
// longer than 65535 bytes, or nesting deeper than amf0MaxDepth (which is
// also how a self-containing value is stopped).
var errAMF0Unencodable = errors.New("amf0: cannot encode")

// Get returns the value of the last property named key (a later
// duplicate overrides an earlier one, as it would in ActionScript).
func (o Object) Get(key string) (any, bool) { return amf0Lookup(o, key) }

// String returns the string property key, or "" if absent or not a string.
func (o Object) String(key string) string { return amf0LookupString(o, key) }

// Number returns the numeric property key; ok is false if it is absent or
// not a number.
func (o Object) Number(key string) (float64, bool) { return amf0LookupNumber(o, key) }

// Get is Object.Get for ECMA arrays.
func (a ECMAArray) Get(key string) (any, bool) { return amf0Lookup(a, key) }

// String is Object.String for ECMA arrays.
func (a ECMAArray) String(key string) string { return amf0LookupString(a, key) }

// Number is Object.Number for ECMA arrays.
func (a ECMAArray) Number(key string) (float64, bool) { return amf0LookupNumber(a, key) }

func amf0Lookup(ps []Property, key string) (any, bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Key == key {
			return ps[i].Value, true
		}
	}
	return nil, false
}

func amf0LookupString(ps []Property, key string) string {
	v, _ := amf0Lookup(ps, key)
	s, _ := v.(string)
	return s
}

func amf0LookupNumber(ps []Property, key string) (float64, bool) {
	v, ok := amf0Lookup(ps, key)
	if !ok {
		return 0, false
	}
	return amf0ToNumber(v)
}

// amf0ToNumber converts any Go number to the float64 an AMF0 Number holds.
func amf0ToNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// ---------------------------------------------------------------------------
// Decoding

// DecodeAMF0 decodes one value from the start of b and returns it with the
// bytes that follow it. On error v is nil and rest is b.
func DecodeAMF0(b []byte) (v any, rest []byte, err error) {
	v, rest, err = amf0DecodeValue(b, 0)
	if err != nil {
		return nil, b, err
	}
	return v, rest, nil
}

// DecodeAMF0All decodes consecutive values until b is used up, as in the
// body of an RTMP command message: name, transaction ID, arguments.
func DecodeAMF0All(b []byte) ([]any, error) {
	var vs []any
	for len(b) > 0 {
		v, rest, err := DecodeAMF0(b)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", len(vs), err)
		}
		vs = append(vs, v)
		b = rest
	}
	return vs, nil
}

// amf0DecodeValue reads a type marker and the body it announces. depth is
// the number of containers around the value.
func amf0DecodeValue(b []byte, depth int) (any, []byte, error) {
	// U8 type marker.
	if len(b) == 0 {
		return nil, b, AMF0Error("truncated value: no type marker")
	}
	m, b := amf0Marker(b[0]), b[1:]
	switch m {
	case amf0NumberMarker:
		return amf0Any(amf0DecodeNumber(b))
	case amf0BooleanMarker:
		return amf0Any(amf0DecodeBoolean(b))
	case amf0StringMarker:
		return amf0Any(amf0DecodeUTF8(b, "string"))
	case amf0LongStringMarker:
		return amf0Any(amf0DecodeLongString(b))
	case amf0NullMarker:
		return nil, b, nil
	case amf0UndefinedMarker:
		return Undefined{}, b, nil
	case amf0DateMarker:
		return amf0Any(amf0DecodeDate(b))
	case amf0ObjectMarker, amf0ECMAArrayMarker, amf0StrictArrayMarker:
		return amf0DecodeContainer(m, b, depth)
	case amf0ObjectEndMarker:
		return nil, b, AMF0Error("object-end marker (0x09) where a value was expected")
	}
	if m > amf0AVMPlusMarker {
		return nil, b, AMF0Error(fmt.Sprintf("unknown type marker 0x%02x", uint8(m)))
	}
	return nil, b, AMF0Error(fmt.Sprintf("%v marker (0x%02x) is not supported", m, uint8(m)))
}

// amf0Any lets a typed decoder's results be returned as an any.
func amf0Any[T any](v T, rest []byte, err error) (any, []byte, error) {
	return v, rest, err
}

// amf0Need checks that b still holds the n bytes of field.
func amf0Need(b []byte, n uint64, field string) error {
	if uint64(len(b)) < n {
		return AMF0Error(fmt.Sprintf("truncated %s: need %d bytes, have %d", field, n, len(b)))
	}
	return nil
}

// amf0DecodeNumber reads the body of a Number (section 2.2).
func amf0DecodeNumber(b []byte) (float64, []byte, error) {
	// DOUBLE: 8 bytes, IEEE-754, network byte order.
	if err := amf0Need(b, 8, "number"); err != nil {
		return 0, b, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
}

// amf0DecodeBoolean reads the body of a Boolean (section 2.3).
func amf0DecodeBoolean(b []byte) (bool, []byte, error) {
	// U8: 0 is false, any other value is true.
	if err := amf0Need(b, 1, "boolean"); err != nil {
		return false, b, err
	}
	return b[0] != 0, b[1:], nil
}

// amf0DecodeUTF8 reads the "UTF-8" production of section 1.3: a U16 byte
// length and the bytes. It is the body of a String (2.4) and an object key.
func amf0DecodeUTF8(b []byte, field string) (string, []byte, error) {
	// U16 byte length.
	if err := amf0Need(b, 2, field+" length"); err != nil {
		return "", b, err
	}
	n := uint64(binary.BigEndian.Uint16(b))
	b = b[2:]
	// n bytes of UTF-8.
	if err := amf0Need(b, n, field); err != nil {
		return "", b, err
	}
	return string(b[:n]), b[n:], nil
}

// amf0DecodeLongString reads the body of a Long String (section 2.14).
func amf0DecodeLongString(b []byte) (string, []byte, error) {
	// U32 byte length.
	if err := amf0Need(b, 4, "long string length"); err != nil {
		return "", b, err
	}
	n := uint64(binary.BigEndian.Uint32(b))
	b = b[4:]
	// n bytes of UTF-8, checked against what is left before copying.
	if err := amf0Need(b, n, "long string"); err != nil {
		return "", b, err
	}
	return string(b[:n]), b[n:], nil
}

// amf0DecodeDate reads the body of a Date (section 2.13).
func amf0DecodeDate(b []byte) (Date, []byte, error) {
	if err := amf0Need(b, 10, "date"); err != nil {
		return Date{}, b, err
	}
	// DOUBLE date-time: milliseconds since 1970-01-01 00:00:00 UTC.
	ms := math.Float64frombits(binary.BigEndian.Uint64(b[0:8]))
	// S16 time-zone: reserved, should be 0; kept as sent.
	tz := int16(binary.BigEndian.Uint16(b[8:10]))
	return Date{Millis: ms, TimeZone: tz}, b[10:], nil
}

// amf0DecodeContainer enforces the depth limit, then reads an Object,
// ECMA Array or Strict Array body.
func amf0DecodeContainer(m amf0Marker, b []byte, depth int) (any, []byte, error) {
	if depth >= amf0MaxDepth {
		return nil, b, AMF0Error(fmt.Sprintf("%v nested deeper than %d containers", m, amf0MaxDepth))
	}
	switch m {
	case amf0ObjectMarker:
		props, rest, err := amf0DecodeProperties(b, depth+1, 0)
		return Object(props), rest, err
	case amf0ECMAArrayMarker:
		return amf0Any(amf0DecodeECMAArray(b, depth+1))
	default:
		return amf0Any(amf0DecodeStrictArray(b, depth+1))
	}
}

// amf0DecodeECMAArray reads the body of an ECMA Array (section 2.10).
func amf0DecodeECMAArray(b []byte, depth int) (ECMAArray, []byte, error) {
	// U32 associative-count. Encoders disagree about it (some write 0), so
	// it is only a capacity hint: the properties end at the object-end
	// marker, exactly as in an Object.
	if err := amf0Need(b, 4, "ECMA array count"); err != nil {
		return nil, b, err
	}
	hint := binary.BigEndian.Uint32(b)
	props, rest, err := amf0DecodeProperties(b[4:], depth, hint)
	return ECMAArray(props), rest, err
}

// amf0DecodeProperties reads the property list of an Object (2.5) or ECMA
// Array (2.10): (UTF-8 key, value)* ended by an empty key and the
// object-end marker (2.11). depth applies to the property values.
func amf0DecodeProperties(b []byte, depth int, hint uint32) ([]Property, []byte, error) {
	props := make([]Property, 0, min(uint64(hint), uint64(len(b)/amf0MinPropertyLen), amf0MaxPrealloc))
	for {
		// UTF-8 property name.
		key, rest, err := amf0DecodeUTF8(b, "property key")
		if err != nil {
			return nil, b, err
		}
		// An empty name followed by 0x09 ends the list. (An empty name
		// followed by any other marker is a property named "".)
		if key == "" && len(rest) > 0 && amf0Marker(rest[0]) == amf0ObjectEndMarker {
			return props, rest[1:], nil
		}
		// value-type.
		v, rest, err := amf0DecodeValue(rest, depth)
		if err != nil {
			return nil, b, err
		}
		props = append(props, Property{Key: key, Value: v})
		b = rest
	}
}

// amf0DecodeStrictArray reads the body of a Strict Array (section 2.12).
func amf0DecodeStrictArray(b []byte, depth int) (StrictArray, []byte, error) {
	// U32 array-count.
	if err := amf0Need(b, 4, "strict array count"); err != nil {
		return nil, b, err
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	// Each value is at least its 1-byte marker, so a count larger than
	// the bytes left cannot be honest: reject it before allocating.
	if uint64(n) > uint64(len(b)) {
		return nil, b, AMF0Error(fmt.Sprintf("strict array count %d exceeds the %d bytes left", n, len(b)))
	}
	arr := make(StrictArray, 0, min(n, amf0MaxPrealloc))
	for range n {
		// value-type, n times.
		v, rest, err := amf0DecodeValue(b, depth)
		if err != nil {
			return nil, b, err
		}
		arr = append(arr, v)
		b = rest
	}
	return arr, b, nil
}

// ---------------------------------------------------------------------------
// Encoding

// AppendAMF0 appends the AMF0 encoding of v to dst. v is one of the Go
// types listed at the top of this file; any Go integer or float is also
// accepted and written as a Number. A string longer than 65535 bytes is
// written as a Long String. On error dst is returned unchanged.
func AppendAMF0(dst []byte, v any) ([]byte, error) {
	out, err := amf0AppendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// AppendAMF0All appends the encodings of vs one after another, as in an
// RTMP command message. On error dst is returned unchanged.
func AppendAMF0All(dst []byte, vs ...any) ([]byte, error) {
	out := dst
	for i, v := range vs {
		var err error
		if out, err = amf0AppendValue(out, v, 0); err != nil {
			return dst, fmt.Errorf("value %d: %w", i, err)
		}
	}
	return out, nil
}

// amf0AppendValue writes marker and body of v. depth is the number of
// containers around v.
func amf0AppendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, byte(amf0NullMarker)), nil
	case Undefined:
		return append(dst, byte(amf0UndefinedMarker)), nil
	case bool:
		return amf0AppendBoolean(dst, v), nil
	case string:
		return amf0AppendString(dst, v)
	case Date:
		return amf0AppendDate(dst, v), nil
	case Object, ECMAArray, StrictArray:
		if depth >= amf0MaxDepth {
			return dst, fmt.Errorf("%w: nested deeper than %d containers", errAMF0Unencodable, amf0MaxDepth)
		}
		return amf0AppendContainer(dst, v, depth+1)
	}
	if f, ok := amf0ToNumber(v); ok {
		return amf0AppendNumber(dst, f), nil
	}
	return dst, fmt.Errorf("%w: Go type %T has no AMF0 form", errAMF0Unencodable, v)
}

// amf0AppendNumber writes a Number (section 2.2). The bits are copied, so
// even NaN payloads survive.
func amf0AppendNumber(dst []byte, f float64) []byte {
	dst = append(dst, byte(amf0NumberMarker))
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

// amf0AppendBoolean writes a Boolean (section 2.3) as 0 or 1.
func amf0AppendBoolean(dst []byte, v bool) []byte {
	if v {
		return append(dst, byte(amf0BooleanMarker), 1)
	}
	return append(dst, byte(amf0BooleanMarker), 0)
}

// amf0AppendString writes a String (2.4) or, when s needs more than a U16
// length, a Long String (2.14).
func amf0AppendString(dst []byte, s string) ([]byte, error) {
	switch n := uint64(len(s)); {
	case n <= math.MaxUint16:
		dst = append(dst, byte(amf0StringMarker))
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	case n <= math.MaxUint32:
		dst = append(dst, byte(amf0LongStringMarker))
		dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	default:
		return dst, fmt.Errorf("%w: string of %d bytes", errAMF0Unencodable, n)
	}
	return append(dst, s...), nil
}

// amf0AppendDate writes a Date (section 2.13).
func amf0AppendDate(dst []byte, d Date) []byte {
	dst = append(dst, byte(amf0DateMarker))
	dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(d.Millis))
	return binary.BigEndian.AppendUint16(dst, uint16(d.TimeZone))
}

// amf0AppendContainer writes an Object (2.5), ECMA Array (2.10) or Strict
// Array (2.12); depth applies to its members.
func amf0AppendContainer(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case Object:
		dst = append(dst, byte(amf0ObjectMarker))
		return amf0AppendProperties(dst, v, depth)
	case ECMAArray:
		// U32 associative-count: the number of properties that follow.
		n, err := amf0Count(len(v))
		if err != nil {
			return dst, err
		}
		dst = append(dst, byte(amf0ECMAArrayMarker))
		dst = binary.BigEndian.AppendUint32(dst, n)
		return amf0AppendProperties(dst, v, depth)
	case StrictArray:
		// U32 array-count, then the values.
		n, err := amf0Count(len(v))
		if err != nil {
			return dst, err
		}
		dst = append(dst, byte(amf0StrictArrayMarker))
		dst = binary.BigEndian.AppendUint32(dst, n)
		return amf0AppendValues(dst, v, depth)
	}
	return dst, fmt.Errorf("%w: Go type %T is not a container", errAMF0Unencodable, v)
}

// amf0Count converts a Go length to a U32 count.
func amf0Count(n int) (uint32, error) {
	if uint64(n) > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %d members do not fit a U32 count", errAMF0Unencodable, n)
	}
	return uint32(n), nil
}

// amf0AppendProperties writes (UTF-8 key, value)* and the end: an empty
// key (00 00) and the object-end marker (09).
func amf0AppendProperties(dst []byte, ps []Property, depth int) ([]byte, error) {
	for _, p := range ps {
		if len(p.Key) > math.MaxUint16 {
			return dst, fmt.Errorf("%w: property key of %d bytes", errAMF0Unencodable, len(p.Key))
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.Key)))
		dst = append(dst, p.Key...)
		var err error
		if dst, err = amf0AppendValue(dst, p.Value, depth); err != nil {
			return dst, fmt.Errorf("property %.40q: %w", p.Key, err)
		}
	}
	return append(dst, 0, 0, byte(amf0ObjectEndMarker)), nil
}

// amf0AppendValues writes the members of a Strict Array.
func amf0AppendValues(dst []byte, vs []any, depth int) ([]byte, error) {
	for i, v := range vs {
		var err error
		if dst, err = amf0AppendValue(dst, v, depth); err != nil {
			return dst, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return dst, nil
}
