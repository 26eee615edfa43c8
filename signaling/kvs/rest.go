package kvs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/streamwire/streamwire/internal/logstr"
)

// operation answers one REST operation: it decodes body into its input,
// acts, and returns the output to encode as JSON, or an error (an
// *APIError for what the client should see).
type operation func(s *Server, w http.ResponseWriter, r *http.Request, body []byte) (any, error)

// operations are the REST operations by path below the prefix: the
// control plane (service kinesisvideo, signaling.md §3.2) and the
// signaling data plane (kinesisvideosignaling, §3.3), all POST with a JSON
// body.
var operations = map[string]operation{
	"/createSignalingChannel":        (*Server).createChannel,
	"/describeSignalingChannel":      (*Server).describeChannel,
	"/listSignalingChannels":         (*Server).listChannels,
	"/deleteSignalingChannel":        (*Server).deleteChannel,
	"/getSignalingChannelEndpoint":   (*Server).getEndpoint,
	"/v1/get-ice-server-config":      (*Server).getIceServerConfig,
	"/v1/send-alexa-offer-to-master": (*Server).sendAlexaOffer,
}

// CORS headers of every REST answer, as AWS sends them (seed 001's
// GetIceServerConfig dump).
const (
	corsAllowHeaders  = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"
	corsAllowMethods  = "GET,OPTIONS,POST"
	corsExposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType"
)

// serveREST answers a REST operation at rel (the path below the prefix).
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, rel string) {
	s.setCORS(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	op, ok := operations[rel]
	if !ok || r.Method != http.MethodPost {
		s.writeError(w, r, Errorf(ErrUnknownOperation, "%s %s is not an operation of this API.", r.Method, rel))
		return
	}
	if s.isClosed() {
		s.writeError(w, r, ErrClosed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.bodyLimit()+1))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || int64(len(body)) > s.cfg.bodyLimit():
		s.writeError(w, r, Errorf(ErrRequestTooLarge, "The request body is over %d bytes.", s.cfg.bodyLimit()))
		return
	case err != nil:
		s.writeError(w, r, Errorf(ErrSerialization, "The request body could not be read."))
		return
	}
	if err := s.verify.verifyRequest(r, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := op(s, w, r, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, out)
}

// setCORS sets the CORS headers of every REST answer. A preflight is
// also told that the headers it asks for are allowed: the AWS SDK for
// JavaScript sends amz-sdk-invocation-id, amz-sdk-request and
// x-amz-user-agent, which AWS's list does not name, and browsers call KVS
// with it all the same.
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", s.cfg.AllowOrigin)
	allow := corsAllowHeaders
	if req := r.Header.Get("Access-Control-Request-Headers"); r.Method == http.MethodOptions && req != "" && validHeaderList(req) {
		allow += "," + req
	}
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	h.Set("X-Amzn-Requestid", s.requestID())
}

// validHeaderList reports whether s is a comma-separated list of header
// names (RFC 9110 tokens) of reasonable length, fit to echo back.
func validHeaderList(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// requestID returns a random UUID for x-amzn-RequestId.
func (s *Server) requestID() string {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// writeJSON answers v as JSON with status.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		s.cfg.Logger.Error("kvs: encoding an answer", "err", err)
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"__type":"InternalFailure","message":"internal failure"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// restError is the restJson1 error body (signaling.md §3.4).
type restError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// writeError answers err as AWS does: its status, X-Amzn-ErrorType and
// {"__type":...,"message":...}.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asAPIError(err)
	if e.Status >= 500 && !errors.Is(err, ErrServiceUnavailable) {
		s.cfg.Logger.Error("kvs: request failed", "path", r.URL.Path, "err", err)
	} else {
		s.cfg.Logger.Debug("kvs: request refused", logstr.Attr("path", r.URL.Path), "type", e.Type, logstr.Attr("message", e.Message))
	}
	w.Header().Set("X-Amzn-Errortype", e.Type)
	s.writeJSON(w, e.Status, restError{Type: e.Type, Message: e.Message})
}

// decodeInput decodes a request body into in: a JSON object (an empty
// body counts as {}), unknown keys ignored, keys matched without regard
// to case.
func decodeInput(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return Errorf(ErrSerialization, "The request body is not a JSON object of this operation's shape.")
	}
	return nil
}
