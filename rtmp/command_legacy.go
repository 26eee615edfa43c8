package rtmp

import (
	"context"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// The replies that FMS-era encoders and players wait for although the
// RTMP specification does not define them. Where each is sent, and after
// whom:
//
//   - onBWDone(0, null) after the connect _result: FMS and SRS
//     (SrsRtmpServer::on_bw_done). ffmpeg and librtmp answer it with
//     _checkbw.
//   - _checkbw: _result(tx, null, null), as SRS answers it (its generic
//     call reply, kept for Haivision encoders, ossrs/srs#844). ffmpeg
//     accepts the _result and would only warn about an _error.
//   - releaseStream, FCPublish and FCUnpublish: _result(tx, null,
//     undefined), as SRS's SrsFMLEStartResPacket.
//   - FCPublish also gets onFCPublish(0, null, {level: "status", code:
//     "NetStream.Publish.Start", description: <name>}), as FMS, ffmpeg's
//     -listen server, rtmpdump's rtmpsrv and the nginx-rtmp forks that
//     fixed hardware encoders send it; some encoders publish only after
//     it. FCUnpublish gets onFCUnpublish with NetStream.Unpublish.Success
//     (SRS's fmle_unpublish, rtmpsrv).
//   - getStreamLength: _result(tx, null, 0), the length in seconds as FMS
//     answers it; 0 for a live stream. ffmpeg sends it before play and
//     warns "Unexpected reply on getStreamLength()" unless the reply
//     carries a number.
//   - play: StreamBegin, onStatus NetStream.Play.Reset and
//     NetStream.Play.Start, then the data message |RtmpSampleAccess(true,
//     true) that lets Flash players read the samples (SRS start_play;
//     nginx-rtmp's live module sends Play.Start and |RtmpSampleAccess).
//     FMS then sends the data message onStatus NetStream.Data.Start; SRS
//     stopped, and so do we, because ffmpeg's FLV demuxer makes an empty
//     data stream of it ("Stream #0:0: Data: none", seen with ffmpeg 5.1
//     in interop's TestRTMPTranscriptFFmpegPlay), which breaks "-map 0".

// Names of the legacy commands.
const (
	cmdOnBWDone        = "onBWDone"
	cmdCheckBW         = "_checkbw"
	cmdOnFCPublish     = "onFCPublish"
	cmdOnFCUnpublish   = "onFCUnpublish"
	cmdReleaseStream   = "releaseStream"
	cmdFCPublish       = "FCPublish"
	cmdFCUnpublish     = "FCUnpublish"
	cmdGetStreamLength = "getStreamLength"
)

// resultUndefined is _result(tx, null, undefined), SRS's answer to
// releaseStream, FCPublish and FCUnpublish.
func resultUndefined(tx float64) Command {
	return Command{Name: "_result", TransactionID: tx, Args: []any{amf0.Undefined{}}}
}

// fcStatus is onFCPublish or onFCUnpublish for the stream name.
func fcStatus(cmd, code, name string) Command {
	return Command{Name: cmd, Args: []any{statusInfo(LevelStatus, code, name)}}
}

// releaseStream answers releaseStream. Nothing is released: a stream that
// is still published under the name is refused by the Handler at publish
// time (NetStream.Publish.BadName), as nginx-rtmp does.
func (ss *serverSession) releaseStream(ctx context.Context, cmd Command) error {
	if err := checkName(cmd.Name+" name", argString(cmd, 0)); err != nil {
		return ss.refuseCall(ctx, cmd, err)
	}
	return ss.reply(ctx, 0, resultUndefined(cmd.TransactionID))
}

// fcPublish answers FCPublish with onFCPublish and the _result.
func (ss *serverSession) fcPublish(ctx context.Context, cmd Command) error {
	name := argString(cmd, 0)
	if err := checkName("FCPublish name", name); err != nil {
		return ss.refuseCall(ctx, cmd, err)
	}
	return ss.replies(ctx, 0, fcStatus(cmdOnFCPublish, CodePublishStart, name), resultUndefined(cmd.TransactionID))
}

// fcUnpublish stops the stream that publishes (FCUnpublish carries a name,
// not a stream id) and answers onFCUnpublish, the _result and, on the
// stream, onStatus NetStream.Unpublish.Success.
func (ss *serverSession) fcUnpublish(ctx context.Context, cmd Command) error {
	name := argString(cmd, 0)
	if len(name) > MaxNameLength {
		name = ""
	}
	if err := ss.replies(ctx, 0, fcStatus(cmdOnFCUnpublish, CodeUnpublishSuccess, name), resultUndefined(cmd.TransactionID)); err != nil {
		return err
	}
	for id, st := range ss.streams {
		if st.sink != nil {
			ss.closeStream(id)
			return ss.reply(ctx, id, onStatus(LevelStatus, CodeUnpublishSuccess, "Stop publishing."))
		}
	}
	return nil
}

// onBWDone tells the client that the (never run) bandwidth check is done.
func (ss *serverSession) onBWDone(ctx context.Context) error {
	return ss.reply(ctx, 0, Command{Name: cmdOnBWDone})
}

// checkBW answers _checkbw with _result(tx, null, null).
func (ss *serverSession) checkBW(ctx context.Context, cmd Command) error {
	return ss.reply(ctx, 0, Command{Name: "_result", TransactionID: cmd.TransactionID, Args: []any{nil}})
}

// getStreamLength answers with a length of 0 seconds, that of a live
// stream.
func (ss *serverSession) getStreamLength(ctx context.Context, cmd Command) error {
	return ss.reply(ctx, 0, Command{Name: "_result", TransactionID: cmd.TransactionID, Args: []any{0.0}})
}

// refuseCall answers cmd with _error NetConnection.Call.Failed. The
// session goes on: ffmpeg ignores an _error to releaseStream and
// FCPublish, and the publish that follows is refused on its own.
func (ss *serverSession) refuseCall(ctx context.Context, cmd Command, err error) error {
	ss.log.Info("rtmp: call refused", logstr.Attr("name", cmd.Name), errAttr(err))
	return ss.reply(ctx, 0, Command{Name: "_error", TransactionID: cmd.TransactionID,
		Args: []any{refusal(CodeCallFailed, err)}})
}

// replies writes cmds on message stream streamID, in order, under one
// write lock.
func (ss *serverSession) replies(ctx context.Context, streamID uint32, cmds ...Command) error {
	return ss.c.WithWriter(ctx, func(w *ChunkWriter) error {
		for _, c := range cmds {
			m, err := c.Message(streamID)
			if err != nil {
				return err
			}
			if err := w.WriteMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
}
