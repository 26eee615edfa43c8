package kvs

import (
	"encoding/json"
	"strconv"
)

// clientFrame is a message a client sends on the WebSocket (signaling.md
// §3.6):
//
//	{"action":"SDP_OFFER","recipientClientId":"v1","messagePayload":"<base64>","correlationId":"c1"}
//
// encoding/json matches keys without regard to case, which the C SDK needs:
// it sends "RecipientClientId", "MessagePayload" and "CorrelationId".
// Unknown keys are ignored.
type clientFrame struct {
	Action            string `json:"action"`
	RecipientClientID string `json:"recipientClientId"`
	MessagePayload    string `json:"messagePayload"`
	CorrelationID     string `json:"correlationId"`
}

// decodeClientFrame decodes one client frame.
func decodeClientFrame(b []byte) (clientFrame, error) {
	var f clientFrame
	err := json.Unmarshal(b, &f)
	return f, err
}

// validPayload reports whether s is standard base64 with padding, as btoa
// and the C SDK write it, of at most max bytes. It checks the alphabet and
// the length without decoding: the payload is passed on as it came.
func validPayload(s string, max int) bool {
	if len(s) == 0 || len(s) > max || len(s)%4 != 0 {
		return false
	}
	pad := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=':
			pad++
		case pad > 0:
			return false // data after padding
		case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return pad <= 2
}

// appendMessageFrame appends the frame that delivers m (signaling.md
// §3.6b):
//
//	{"senderClientId":"v1","messageType":"SDP_OFFER","messagePayload":"<base64>"}
//
// senderClientId is left out for a message from the master, as AWS does
// for viewers (the JS SDK then files it under "MASTER"). Every value is
// a checked client id, a constant or base64, so nothing needs escaping.
// It does not allocate when b has room.
func appendMessageFrame(b []byte, m Message) []byte {
	b = append(b, '{')
	if m.Sender != "" {
		b = append(b, `"senderClientId":"`...)
		b = append(b, m.Sender...)
		b = append(b, `",`...)
	}
	b = append(b, `"messageType":"`...)
	b = append(b, m.Type...)
	b = append(b, `","messagePayload":"`...)
	b = append(b, m.Payload...)
	return append(b, `"}`...)
}

// appendEventFrame appends a frame without payload: GO_AWAY or
// RECONNECT_ICE_SERVER.
//
//	{"messageType":"GO_AWAY"}
func appendEventFrame(b []byte, messageType string) []byte {
	b = append(b, `{"messageType":"`...)
	b = append(b, messageType...)
	return append(b, `"}`...)
}

// appendStatusFrame appends the STATUS_RESPONSE that answers the message
// with correlationID (a ValidName, or "" when the client's was not one)
// with err:
//
//	{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c1",
//	 "errorType":"InvalidArgumentException","statusCode":"400",
//	 "description":"...","success":false}}
//
// success is the JS SDK's StatusResponse field (its examples test it);
// AWS documents the other four.
func appendStatusFrame(b []byte, correlationID string, err *APIError) []byte {
	b = append(b, `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"`...)
	b = append(b, correlationID...)
	b = append(b, `","errorType":"`...)
	b = append(b, err.Type...)
	b = append(b, `","statusCode":"`...)
	b = strconv.AppendInt(b, int64(err.Status), 10)
	b = append(b, `","description":`...)
	desc, _ := json.Marshal(err.Message) // a string always marshals
	b = append(b, desc...)
	return append(b, `,"success":false}}`...)
}
