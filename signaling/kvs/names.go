package kvs

import (
	"strconv"
	"strings"
	"time"
)

// MaxNameLen caps channel names and client ids, in bytes: 256, the API's
// limit for both.
const MaxNameLen = 256

// ValidName reports whether s is a channel name, a client id or a
// correlationId the KVS API accepts: 1 to 256 of [a-zA-Z0-9_.-]
// (CreateSignalingChannel's ChannelName, ConnectAsViewer's X-Amz-ClientId,
// the JS SDK's correlationId check).
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ValidClientID reports whether s is a viewer's client id: a ValidName
// that does not start with "AWS_", which AWS keeps for itself
// (SendAlexaOfferToMaster's senders among them).
func ValidClientID(s string) bool { return ValidName(s) && !strings.HasPrefix(s, "AWS_") }

// channelARN returns the ARN of a channel as AWS spells it:
//
//	arn:aws:kinesisvideo:REGION:ACCOUNT:channel/NAME/CREATION_MILLIS
func channelARN(region, account, name string, created time.Time) string {
	return "arn:aws:kinesisvideo:" + region + ":" + account + ":channel/" + name + "/" + strconv.FormatInt(created.UnixMilli(), 10)
}

// maxARNLen caps an ARN, in bytes: 1,024, the API's limit.
const maxARNLen = 1024

// nameFromARN returns the channel name of an ARN that channelARN could
// have made (any partition, region and account), or false.
func nameFromARN(arn string) (string, bool) {
	if len(arn) > maxARNLen {
		return "", false
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kinesisvideo" {
		return "", false
	}
	res, ok := strings.CutPrefix(parts[5], "channel/")
	if !ok {
		return "", false
	}
	name, stamp, ok := strings.Cut(res, "/")
	if !ok || !ValidName(name) || stamp == "" || strings.Trim(stamp, "0123456789") != "" {
		return "", false
	}
	return name, true
}
