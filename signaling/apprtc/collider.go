package apprtc

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/streamwire/streamwire/internal/logstr"
)

// colliderHTTP answers /collider/{room}/{client} (collider.go httpHandler):
// POST sends the body as a message from the client, DELETE removes the
// client; both answer "OK\n". Any other method gets 200 with an empty body
// (so a CORS preflight passes). Errors are 500 text/plain, except a body
// over MaxMessageBytes (413) or sent too slowly (408).
func (s *Server) colliderHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE")
	rel := strings.TrimPrefix(r.URL.Path, ColliderPrefix)
	p := strings.Split(rel, "/")
	if len(p) != 3 || !ValidID(p[1]) || !ValidID(p[2]) {
		s.httpError(w, http.StatusInternalServerError, "Invalid path: "+html.EscapeString(logstr.Bound(rel)))
		return
	}
	room, client := p[1], p[2]
	switch r.Method {
	case http.MethodPost:
		msg, status := s.readMessage(r)
		switch {
		case status != http.StatusOK:
			s.httpError(w, status, "Failed to read request body: "+http.StatusText(status))
			return
		case msg == "":
			s.httpError(w, http.StatusInternalServerError, "Empty request body")
			return
		case !utf8.ValidString(msg):
			s.httpError(w, http.StatusInternalServerError, "Failed to send the message: message is not UTF-8")
			return
		}
		if err := s.store.Send(r.Context(), room, client, msg); err != nil {
			s.httpError(w, http.StatusInternalServerError, "Failed to send the message: "+ColliderText(err))
			return
		}
	case http.MethodDelete:
		if err := s.store.Remove(r.Context(), room, client); err != nil {
			s.httpError(w, http.StatusInternalServerError, "Failed to remove the client: "+ColliderText(err))
			return
		}
		s.cfg.Logger.Info("apprtc: collider client removed", "room", room, "client", client)
	default:
		return
	}
	_, _ = io.WriteString(w, "OK\n")
}

// httpError answers a Collider HTTP request with text (http.Error) and
// counts it in Stats.HTTPErrors.
func (s *Server) httpError(w http.ResponseWriter, status int, text string) {
	s.httpErrors.Add(1)
	s.cfg.Logger.Debug("apprtc: collider http error", logstr.Attr("err", text))
	http.Error(w, text, status)
}

// colliderStatus answers /collider/status (collider.go
// httpStatusHandler):
//
//	{"upsec":12.5,"openws":2,"totalws":7,"wserrors":0,"httperrors":1}
func (s *Server) colliderStatus(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Content-Type", "application/json")
	st := s.Stats()
	_ = json.NewEncoder(w).Encode(struct {
		UpSec      float64 `json:"upsec"`
		OpenWS     int     `json:"openws"`
		TotalWS    uint64  `json:"totalws"`
		WSErrors   uint64  `json:"wserrors"`
		HTTPErrors uint64  `json:"httperrors"`
	}{st.Uptime.Seconds(), st.OpenWS, st.TotalWS, st.WSErrors, st.HTTPErrors})
}
