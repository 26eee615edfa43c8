package rtmp

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/streamwire/streamwire/internal/logstr"
)

// MaxNameLength is the longest app, tcUrl or stream name (with its query)
// a Server accepts, in bytes: a connect whose app or tcUrl is longer is
// answered NetConnection.Connect.Rejected, and a publish, play, FCPublish
// or releaseStream whose name is longer is refused, before any of them
// reaches a Handler or a log line.
//
// Why 4096: nginx-rtmp, the most deployed RTMP server, reads app, tcUrl
// and stream names into fixed 256-byte buffers (NGX_RTMP_MAX_NAME,
// NGX_RTMP_MAX_URL), and ffmpeg's own limits are 1024 bytes for app and
// tcUrl and 512 for the play path (APP_MAX_LENGTH, TCURL_MAX_LENGTH,
// PLAYPATH_MAX_LENGTH in rtmpproto.c), so real encoders stay far below; the longest real
// names are stream keys with a signed token in the query (JWTs of a few
// hundred bytes to about 2 KiB), which 4096 bytes still hold.
const MaxNameLength = 4096

// ErrNameTooLong: an app, tcUrl or stream name is longer than
// MaxNameLength. Refused publishes and plays also match ErrBadName.
var ErrNameTooLong = errors.New("rtmp: name too long")

// checkName returns an error wrapping ErrNameTooLong when s, the value of
// field, is longer than MaxNameLength.
func checkName(field, s string) error {
	if len(s) > MaxNameLength {
		return fmt.Errorf("%w: %s of %d bytes, limit %d", ErrNameTooLong, field, len(s), MaxNameLength)
	}
	return nil
}

// errAttr is the "err" attribute of a log line. Errors may quote
// client-supplied strings (a handler's reason, a peer's description), so
// the text is bounded, a little more generously than a single name.
func errAttr(err error) slog.Attr {
	return slog.String("err", logstr.BoundN(err.Error(), 4*logstr.MaxLen))
}
