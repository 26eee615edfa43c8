package apprtc

import (
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/internal/logstr"
)

// join answers POST /join/{room} (apprtc.py JoinPage): a new 8-digit client
// id seated in the room, and the room parameters; or FULL,
// DUPLICATE_CLIENT or ERROR with {"messages":[]} as params.
func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	room, ok := s.pathIDs(w, r, "room")
	if !ok {
		return
	}
	client, err := newClientID(s.cfg.Rand)
	if err != nil {
		s.cfg.Logger.Error("apprtc: join", "err", err)
		writeJoinError(w, ResultError)
		return
	}
	joined, err := s.store.Join(r.Context(), room[0], client)
	if err != nil {
		s.cfg.Logger.Debug("apprtc: join refused", "room", room[0], "err", err)
		writeJoinError(w, ResultCode(err))
		return
	}
	p, err := s.params(r, client)
	if err != nil {
		s.cfg.Logger.Error("apprtc: join: ICE credentials", "err", err)
		_ = s.store.Leave(r.Context(), room[0], client)
		writeJoinError(w, ResultError)
		return
	}
	initiator := "false"
	if joined.Initiator {
		initiator = "true"
	}
	p.RoomID, p.RoomLink, p.ClientID, p.IsInitiator = room[0], s.roomLink(r, room[0]), client, initiator
	p.Messages = &joined.Messages
	writeJSON(w, http.StatusOK, joinResponse{Result: ResultSuccess, Params: p})
	s.cfg.Logger.Info("apprtc: joined", "room", room[0], "client", client, "initiator", joined.Initiator,
		"messages", len(joined.Messages))
}

// writeJoinError writes a /join error: {"result":CODE,"params":{"messages":[]}}.
func writeJoinError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, joinResponse{Result: code, Params: map[string][]string{"messages": {}}})
}

// message answers POST /message/{room}/{client} (apprtc.py MessagePage):
// the body is saved on the client's seat while it is alone, else forwarded
// through the Collider as a POST from the client would be. A forward that
// fails is HTTP 500, as when upstream's Collider answers non-200.
func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	ids, ok := s.pathIDs(w, r, "room", "client")
	if !ok {
		return
	}
	msg, status := s.readMessage(r)
	if status != http.StatusOK {
		writeJSON(w, status, map[string]string{"result": ResultError})
		return
	}
	if !utf8.ValidString(msg) {
		writeResult(w, ResultError)
		return
	}
	saved, err := s.store.Save(r.Context(), ids[0], ids[1], msg)
	if err != nil || saved {
		writeResult(w, ResultCode(err))
		return
	}
	if err := s.store.Send(r.Context(), ids[0], ids[1], msg); err != nil {
		s.cfg.Logger.Info("apprtc: message forward failed", "room", ids[0], "client", ids[1], "err", err)
		http.Error(w, "Failed to send the message: "+ColliderText(err), http.StatusInternalServerError)
		return
	}
	writeResult(w, ResultSuccess)
}

// leave answers POST /leave/{room}/{client} (apprtc.py LeavePage): the seat
// is freed; the answer is 200 with an empty body whatever happened.
func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	ids, ok := s.pathIDs(w, r, "room", "client")
	if !ok {
		return
	}
	if err := s.store.Leave(r.Context(), ids[0], ids[1]); err != nil {
		s.cfg.Logger.Debug("apprtc: leave", "room", ids[0], "client", ids[1], "err", err)
		return
	}
	s.cfg.Logger.Info("apprtc: left", "room", ids[0], "client", ids[1])
}

// paramsPage answers GET /params (apprtc.py ParamsPage): the parameters
// without room_id, room_link, client_id, is_initiator and messages.
func (s *Server) paramsPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.params(r, "")
	if err != nil {
		s.cfg.Logger.Error("apprtc: params: ICE credentials", "err", err)
		http.Error(w, "ICE credentials unavailable", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// roomPage answers GET /r/{room} with the call page, or the "room is full"
// page when the room has two seats (apprtc.py RoomPage, full_template.html).
func (s *Server) roomPage(w http.ResponseWriter, r *http.Request) {
	ids, ok := s.pathIDs(w, r, "room")
	if !ok {
		return
	}
	n, err := s.store.Occupancy(r.Context(), ids[0])
	if err != nil {
		http.Error(w, "room state unavailable", http.StatusServiceUnavailable)
		return
	}
	s.page.serve(w, n >= maxSeats)
}

// pathIDs returns the path values named, or answers 404 when one is not a
// valid id (AppRTC's routes match [a-zA-Z0-9-_]+ only).
func (s *Server) pathIDs(w http.ResponseWriter, r *http.Request, names ...string) ([]string, bool) {
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = r.PathValue(n)
		if !ValidID(ids[i]) {
			s.cfg.Logger.Debug("apprtc: bad id in path", logstr.Attr("path", r.URL.Path))
			http.NotFound(w, r)
			return nil, false
		}
	}
	return ids, true
}

// readMessage reads a signaling message body of at most MaxMessageBytes.
// The status is 200 when it was read, else the status to answer (413 over
// the cap, 408 too slow, 400 otherwise; httpserver.BodyStatus).
func (s *Server) readMessage(r *http.Request) (string, int) {
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxMessageBytes)+1))
	if err != nil {
		status, _ := httpserver.BodyStatus(err)
		return "", status
	}
	if len(b) > s.cfg.MaxMessageBytes {
		return "", http.StatusRequestEntityTooLarge
	}
	return string(b), http.StatusOK
}

// writeResult writes {"result":CODE}.
func writeResult(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]string{"result": code})
}

// writeJSON writes v as JSON without HTML escaping or a final newline, as
// apprtc.py's self.response.write(json.dumps(...)).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(marshalNoHTML(v))
}
