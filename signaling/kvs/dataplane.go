package kvs

import (
	"net/http"
	"strings"
	"sync"

	"github.com/streamwire/streamwire/internal/httpserver"
)

// The signaling data plane (service kinesisvideosignaling, restJson1;
// signaling.md §3.3), served at the HTTPS ResourceEndpoint.

// iceServer is an IceServer of GetIceServerConfig's answer.
type iceServer struct {
	Uris     []string `json:"Uris"`
	Username string   `json:"Username"`
	Password string   `json:"Password"`
	Ttl      int64    `json:"Ttl"` //nolint:revive // AWS's key
}

// getIceServerConfig answers GetIceServerConfig:
//
//	{"ChannelARN":"arn","ClientId":"v1","Service":"TURN","Username":"u"}
//	→ {"IceServerList":[{"Uris":["turn:..."],"Username":"1700000300:v1","Password":"...","Ttl":300}]}
//
// with one IceServer holding the credential Config.ICE mints and its
// turn: and turns: URIs (AWS hands out TURN only; the JS SDK's examples add
// their own STUN server). ChannelARN must name a channel; Service, when
// given, must be TURN. The list is empty without Config.ICE or TURN URIs.
func (s *Server) getIceServerConfig(_ http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in struct {
		ChannelARN string `json:"ChannelARN"`
		ClientID   string `json:"ClientId"`
		Service    string `json:"Service"`
		Username   string `json:"Username"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Service != "" && in.Service != "TURN":
		return nil, Errorf(ErrInvalidArgument, "Service must be TURN.")
	case in.ClientID != "" && !ValidName(in.ClientID):
		return nil, Errorf(ErrInvalidArgument, "ClientId must be 1 to 256 characters of [a-zA-Z0-9_.-].")
	case len(in.Username) > MaxNameLen:
		return nil, Errorf(ErrInvalidArgument, "Username must be at most 256 characters.")
	}
	if _, err := s.channelByARN(r, in.ChannelARN); err != nil {
		return nil, err
	}
	out := struct {
		IceServerList []iceServer `json:"IceServerList"`
	}{IceServerList: []iceServer{}}
	if s.cfg.ICE == nil {
		return out, nil
	}
	user := in.Username
	if user == "" {
		user = in.ClientID
	}
	cred, err := s.cfg.ICE.Mint(user)
	if err != nil {
		return nil, Errorf(ErrInvalidArgument, "No TURN credential for this Username or ClientId.")
	}
	var uris []string
	for _, u := range cred.URIs {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			uris = append(uris, u)
		}
	}
	if len(uris) > 0 {
		out.IceServerList = append(out.IceServerList, iceServer{Uris: uris, Username: cred.Username, Password: cred.Password, Ttl: cred.TTL})
	}
	return out, nil
}

// sendAlexaOffer answers SendAlexaOfferToMaster:
//
//	{"ChannelARN":"arn","SenderClientId":"alexa","MessagePayload":"<base64 offer>"}
//	→ {"Answer":"<base64 answer>"}
//
// The offer reaches the master as an SDP_OFFER from SenderClientId, which
// holds a viewer seat while the call waits (replacing a viewer of that id)
// for the master's SDP_ANSWER to it, at most the channel's MessageTTL;
// ICE candidates to it are dropped (Alexa devices do not trickle). No
// answer in time is ResourceNotFoundException.
func (s *Server) sendAlexaOffer(w http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in struct {
		ChannelARN     string `json:"ChannelARN"`
		SenderClientID string `json:"SenderClientId"`
		MessagePayload string `json:"MessagePayload"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	switch {
	case !ValidName(in.SenderClientID):
		return nil, Errorf(ErrInvalidArgument, "SenderClientId must be 1 to 256 characters of [a-zA-Z0-9_.-].")
	case !validPayload(in.MessagePayload, s.cfg.MaxMessageBytes):
		return nil, Errorf(ErrInvalidArgument, "MessagePayload must be base64 of at most %d bytes.", s.cfg.MaxMessageBytes)
	}
	ch, err := s.channelByARN(r, in.ChannelARN)
	if err != nil {
		return nil, err
	}
	wait := newAnswerSink()
	ctx := r.Context()
	if err := s.store.Connect(ctx, ch.Name, in.SenderClientID, wait); err != nil {
		return nil, err
	}
	defer func() { _ = s.store.Disconnect(ctx, ch.Name, in.SenderClientID, wait) }()
	if err := s.store.Send(ctx, ch.Name, "", Message{Type: MessageSDPOffer, Sender: in.SenderClientID, Payload: in.MessagePayload}); err != nil {
		return nil, err
	}
	// The answer may take longer than the HTTP server's write time-out.
	_ = httpserver.Extend(w, ch.MessageTTL+s.cfg.WriteTimeout)
	expired := make(chan struct{})
	stop := s.cfg.Clock.AfterFunc(ch.MessageTTL, func() { close(expired) })
	defer stop()
	select {
	case answer := <-wait.answer:
		return struct {
			Answer string `json:"Answer"`
		}{answer}, nil
	case <-expired:
		return nil, Errorf(ErrResourceNotFound, "The master of channel %s did not answer within %v.", ch.Name, ch.MessageTTL)
	case <-wait.closed:
		return nil, Errorf(ErrClientLimitExceeded, "Another connection took SenderClientId %s.", in.SenderClientID)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.conns.Closing():
		return nil, ErrClosed
	}
}

// answerSink is the Sink of a SendAlexaOfferToMaster call: it takes the
// first SDP_ANSWER and drops the rest.
type answerSink struct {
	answer chan string
	closed chan struct{}
	once   sync.Once
}

func newAnswerSink() *answerSink {
	return &answerSink{answer: make(chan string, 1), closed: make(chan struct{})}
}

// Deliver implements Sink.
func (a *answerSink) Deliver(m Message) error {
	if m.Type == MessageSDPAnswer {
		select {
		case a.answer <- m.Payload:
		default:
		}
	}
	return nil
}

// Close implements Sink.
func (a *answerSink) Close() { a.once.Do(func() { close(a.closed) }) }
