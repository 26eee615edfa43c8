// Package amf0 decodes and encodes Action Message Format 0 (AMF0
// specification, Adobe 2007), the encoding of RTMP command and data
// messages (connect, publish, onStatus, onMetaData ...), including the AMF3
// values (AMF3 specification §3) that follow an AVM+ marker (AMF0 §3.1).
//
// Values map to Go as follows: number → float64, boolean → bool, string and
// long string → string, object → Object (properties in wire order), ECMA
// array → ECMAArray, strict array → []any, null → nil, undefined →
// Undefined, date → time.Time, XML document → XMLDocument, typed object →
// TypedObject, unsupported → Unsupported. Append accepts the same types,
// plus Go integers and float32.
//
// Decode and DecodeAll never panic on input: malformed data gives an error
// matching ErrMalformed, nesting beyond Decoder.MaxDepth gives ErrDepth, and
// a Decoder stops after MaxValues values so that a small message cannot
// expand into an unbounded tree. Decoded strings are copies: the input may be
// reused after a call returns. The strings of one call on an input of at most
// 4 KiB are cut from one copy of that input, so a string kept by the caller
// keeps at most 4 KiB alive; common numbers and strings (small integers, frame
// sizes, sample rates, command names, status codes) come back as values shared
// by all calls. Decoding ffmpeg's connect or onMetaData costs 6 allocations.
package amf0
