package apprtc

import "errors"

// Result codes of the room server's JSON answers ({"result": ...}), as
// AppRTC's constants.py spells them. Errors travel in "result" with HTTP 200.
const (
	ResultSuccess         = "SUCCESS"
	ResultError           = "ERROR"
	ResultFull            = "FULL"
	ResultUnknownRoom     = "UNKNOWN_ROOM"
	ResultUnknownClient   = "UNKNOWN_CLIENT"
	ResultDuplicateClient = "DUPLICATE_CLIENT"
)

// Sentinel errors of a Store, for errors.Is. Each maps to the result code or
// the Collider error text that AppRTC clients know (see ResultCode and
// ColliderText).
var (
	// ErrFull: the room already has two seats (result FULL).
	ErrFull = errors.New("apprtc: room full")
	// ErrDuplicateClient: the client id already has a seat in the room
	// (result DUPLICATE_CLIENT).
	ErrDuplicateClient = errors.New("apprtc: duplicate client")
	// ErrUnknownRoom: no seat is held in the room (result UNKNOWN_ROOM).
	ErrUnknownRoom = errors.New("apprtc: unknown room")
	// ErrUnknownClient: the room holds no seat for the client (result
	// UNKNOWN_CLIENT).
	ErrUnknownClient = errors.New("apprtc: unknown client")
	// ErrRoomCapacity: the room already has two Collider clients
	// ("Max room capacity reached").
	ErrRoomCapacity = errors.New("apprtc: max room capacity reached")
	// ErrDuplicatedRegistration: the client already has a WebSocket
	// ("Duplicated registration").
	ErrDuplicatedRegistration = errors.New("apprtc: duplicated registration")
	// ErrQueueFull: a queue is at MaxQueuedMessages or MaxQueuedBytes
	// ("Too many messages queued for the client"; result ERROR).
	ErrQueueFull = errors.New("apprtc: too many messages queued")
	// ErrClosed: the Store or the Server was closed.
	ErrClosed = errors.New("apprtc: closed")
)

// ResultCode is the room-server result code for err: ResultSuccess for nil,
// the code of a sentinel above, ResultError for anything else.
func ResultCode(err error) string {
	switch {
	case err == nil:
		return ResultSuccess
	case errors.Is(err, ErrFull):
		return ResultFull
	case errors.Is(err, ErrDuplicateClient):
		return ResultDuplicateClient
	case errors.Is(err, ErrUnknownRoom):
		return ResultUnknownRoom
	case errors.Is(err, ErrUnknownClient):
		return ResultUnknownClient
	}
	return ResultError
}

// Collider's error texts, sent as {"msg":"","error":TEXT}; the exact strings
// of collider.go, room.go and client.go.
const (
	textDuplicatedRegister  = "Duplicated register request"
	textInvalidRegister     = "Invalid register request: missing 'clientid' or 'roomid'"
	textBadRegisterIDs      = "Invalid register request: 'roomid' and 'clientid' must be 1 to 64 of [a-zA-Z0-9_-]"
	textRoomCapacity        = "Max room capacity reached"
	textDuplicatedRegistrat = "Duplicated registration"
	textNotRegistered       = "Client not registered"
	textMissingMsg          = "Invalid send request: missing 'msg'"
	textUnexpectedCmd       = "Invalid message: unexpected 'cmd'"
	textQueueFull           = "Too many messages queued for the client"
	textReceivePrefix       = "websocket.JSON.Receive error: "
	// textFrameTooLarge is golang.org/x/net/websocket's ErrFrameTooLarge,
	// what Collider answers to a frame over its payload limit.
	textFrameTooLarge = textReceivePrefix + "websocket: frame payload size exceeds limit"
)

// ColliderText is the Collider error text for err ("Max room capacity
// reached", "Duplicated registration", "Too many messages queued for the
// client"), or err's own text for any other error.
func ColliderText(err error) string {
	switch {
	case errors.Is(err, ErrRoomCapacity):
		return textRoomCapacity
	case errors.Is(err, ErrDuplicatedRegistration):
		return textDuplicatedRegistrat
	case errors.Is(err, ErrQueueFull):
		return textQueueFull
	}
	return err.Error()
}
