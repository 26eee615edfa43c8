// Package transcript reads and rewrites the golden transcripts of the
// signaling packages' tests (signaling/apprtc, signaling/kvs): text files
// of one step a line, replayed against a server whose every answer and
// frame is compared byte for byte.
//
// A step is "PARTY VERB ARG" (ARG may hold spaces; "POST OP BODY" too) or
// "=> ANSWER", the answer to the step before; lines starting with '#' and
// blank lines are comments. A test's play function returns the step lines
// with the server's actual answers, which -update writes back in place of
// the old ones, comments kept.
package transcript
