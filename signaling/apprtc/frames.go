package apprtc

import (
	"encoding/json"
	"unicode/utf8"
)

// wsClientMsg is a Collider client frame:
//
//	{"cmd":"register","roomid":"R","clientid":"C"}
//	{"cmd":"send","msg":"<JSON text of a signaling message>"}
//
// Its Go name is part of the wire format: encoding/json names it in the
// errors Collider sends back ("json: cannot unmarshal number into Go struct
// field wsClientMsg.cmd of type string").
type wsClientMsg struct {
	Cmd      string `json:"cmd"`
	RoomID   string `json:"roomid"`
	ClientID string `json:"clientid"`
	Msg      string `json:"msg"`
}

// decodeClientFrame decodes one client frame as Collider's
// websocket.JSON.Receive does (encoding/json, keys matched without regard to
// case, unknown keys ignored). The error's text is what goes after
// "websocket.JSON.Receive error: ".
func decodeClientFrame(frame []byte) (wsClientMsg, error) {
	var m wsClientMsg
	err := json.Unmarshal(frame, &m)
	return m, err
}

// appendServerFrame appends a Collider server frame to b: exactly what
// json.NewEncoder(w).Encode(wsServerMsg{Msg: msg, Error: errText}) writes in
// collider messages.go, both keys always present and a final newline:
//
//	{"msg":"{\"type\":\"answer\",...}","error":""}\n
//
// It does not allocate when b has room.
func appendServerFrame(b []byte, msg, errText string) []byte {
	b = append(b, `{"msg":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, errText)
	return append(b, '}', '\n')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// encodes a string with HTML escaping on (its default): <, > and & as
// \u003c, \u003e and \u0026, the short escapes \" \\ \b \f \n \r \t, other
// control bytes as \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped. FuzzAppendJSONString compares it with json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
