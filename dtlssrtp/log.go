package dtlssrtp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
	"github.com/streamwire/streamwire/internal/logstr"
)

// slogFactory routes pion/dtls's logs into a *slog.Logger, so that the
// library writes nothing to stderr on its own.
type slogFactory struct{ l *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{f.l.With("scope", scope)}
}

// slogLogger maps pion's trace level to slog debug minus 4.
type slogLogger struct{ l *slog.Logger }

const levelTrace = slog.LevelDebug - 4

// maxPionLog bounds one pion/dtls log message: pion quotes what the peer
// sent (extensions, alerts, record contents) in some of them.
const maxPionLog = 512

func (s slogLogger) log(level slog.Level, msg string) {
	s.l.Log(context.Background(), level, logstr.BoundN(msg, maxPionLog))
}

func (s slogLogger) logf(level slog.Level, format string, args ...any) {
	if s.l.Enabled(context.Background(), level) {
		s.log(level, fmt.Sprintf(format, args...))
	}
}

func (s slogLogger) Trace(msg string)                  { s.log(levelTrace, msg) }
func (s slogLogger) Tracef(format string, args ...any) { s.logf(levelTrace, format, args...) }
func (s slogLogger) Debug(msg string)                  { s.log(slog.LevelDebug, msg) }
func (s slogLogger) Debugf(format string, args ...any) { s.logf(slog.LevelDebug, format, args...) }
func (s slogLogger) Info(msg string)                   { s.log(slog.LevelInfo, msg) }
func (s slogLogger) Infof(format string, args ...any)  { s.logf(slog.LevelInfo, format, args...) }
func (s slogLogger) Warn(msg string)                   { s.log(slog.LevelWarn, msg) }
func (s slogLogger) Warnf(format string, args ...any)  { s.logf(slog.LevelWarn, format, args...) }
func (s slogLogger) Error(msg string)                  { s.log(slog.LevelError, msg) }
func (s slogLogger) Errorf(format string, args ...any) { s.logf(slog.LevelError, format, args...) }
