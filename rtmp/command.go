package rtmp

import "github.com/streamwire/streamwire/rtmp/amf0"

// Command and status helpers for the session layer: the replies real servers
// (nginx-rtmp, SRS, FMS) send, so that ffmpeg, OBS and Flash-era clients
// accept them.

// Status levels of onStatus info objects.
const (
	LevelStatus = "status"
	LevelError  = "error"
)

// NetConnection and NetStream status codes used by the server and client.
const (
	CodeConnectSuccess        = "NetConnection.Connect.Success"
	CodeConnectRejected       = "NetConnection.Connect.Rejected"
	CodeCallFailed            = "NetConnection.Call.Failed"
	CodePublishStart          = "NetStream.Publish.Start"
	CodePublishBadName        = "NetStream.Publish.BadName"
	CodePublishUnauthorized   = "NetStream.Publish.Unauthorized"
	CodeUnpublishSuccess      = "NetStream.Unpublish.Success"
	CodePlayReset             = "NetStream.Play.Reset"
	CodePlayStart             = "NetStream.Play.Start"
	CodePlayStop              = "NetStream.Play.Stop"
	CodePlayStreamNotFound    = "NetStream.Play.StreamNotFound"
	CodePlayUnauthorized      = "NetStream.Play.Unauthorized"
	CodePlayFailed            = "NetStream.Play.Failed"
	CodePlayUnpublishNotify   = "NetStream.Play.UnpublishNotify"
	CodeDataStart             = "NetStream.Data.Start"
	CodeDeleteStreamSuccess   = "NetStream.DeleteStream.Suceess" // sic, as FMS and SRS spell it
	CodeCloseStreamSuccess    = "NetStream.Close.Success"
	CodePublishFailed         = "NetStream.Publish.Failed"
	defaultFMSVersion         = "FMS/3,5,7,7009"
	defaultConnectDescription = "Connection succeeded."
)

// statusInfo is the info object of an onStatus command or a _result.
func statusInfo(level, code, description string) amf0.Object {
	return amf0.Object{
		{Key: "level", Value: level},
		{Key: "code", Value: code},
		{Key: "description", Value: description},
	}
}

// onStatus builds the onStatus command a server sends on a NetStream.
func onStatus(level, code, description string) Command {
	return Command{Name: "onStatus", TransactionID: 0, Object: nil, Args: []any{statusInfo(level, code, description)}}
}

// connectResult builds the _result of connect as FMS/nginx-rtmp/SRS do:
// properties fmsVer, capabilities and mode, then the status info with the
// objectEncoding the client asked for.
func connectResult(tx, objectEncoding float64) Command {
	props := amf0.Object{
		{Key: "fmsVer", Value: defaultFMSVersion},
		{Key: "capabilities", Value: float64(31)},
		{Key: "mode", Value: float64(1)},
	}
	info := append(statusInfo(LevelStatus, CodeConnectSuccess, defaultConnectDescription),
		amf0.Property{Key: "objectEncoding", Value: objectEncoding})
	return Command{Name: "_result", TransactionID: tx, Object: props, Args: []any{info}}
}

// statusCode returns the "code" of an onStatus or _result/_error command.
func statusCode(c Command) (level, code, description string) {
	for _, a := range c.Args {
		if o, ok := a.(amf0.Object); ok {
			return o.String("level"), o.String("code"), o.String("description")
		}
	}
	if o, ok := c.Object.(amf0.Object); ok {
		return o.String("level"), o.String("code"), o.String("description")
	}
	return "", "", ""
}

// argString returns the i-th command argument as a string.
func argString(c Command, i int) string {
	if i < len(c.Args) {
		s, _ := c.Args[i].(string)
		return s
	}
	return ""
}

// objectNumber returns key of the command object as a number.
func objectNumber(c Command, key string) float64 {
	if o, ok := c.Object.(amf0.Object); ok {
		return o.Number(key)
	}
	return 0
}

// objectString returns key of the command object as a string.
func objectString(c Command, key string) string {
	if o, ok := c.Object.(amf0.Object); ok {
		return o.String(key)
	}
	return ""
}
