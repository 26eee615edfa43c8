package apprtc

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// roomParams is the "params" object of /join and the body of /params
// (apprtc.py get_room_parameters), fields in the order of signaling.md §1.2.
// Several values are strings holding JSON (json.dumps in apprtc.py):
// is_initiator, pc_config, pc_constraints, offer_options,
// media_constraints, is_loopback, bypass_join_confirmation, version_info.
type roomParams struct {
	RoomID                 string    `json:"room_id,omitempty"`
	RoomLink               string    `json:"room_link,omitempty"`
	ClientID               string    `json:"client_id,omitempty"`
	IsInitiator            string    `json:"is_initiator,omitempty"`
	Messages               *[]string `json:"messages,omitempty"`
	PCConfig               string    `json:"pc_config"`
	PCConstraints          string    `json:"pc_constraints"`
	OfferOptions           string    `json:"offer_options"`
	MediaConstraints       string    `json:"media_constraints"`
	ICEServerURL           string    `json:"ice_server_url"`
	ICEServerTransports    string    `json:"ice_server_transports"`
	WSSURL                 string    `json:"wss_url"`
	WSSPostURL             string    `json:"wss_post_url"`
	IsLoopback             string    `json:"is_loopback"`
	IncludeLoopbackJS      string    `json:"include_loopback_js"`
	HeaderMessage          *string   `json:"header_message"`
	ErrorMessages          []string  `json:"error_messages"`
	WarningMessages        []string  `json:"warning_messages"`
	BypassJoinConfirmation string    `json:"bypass_join_confirmation"`
	VersionInfo            string    `json:"version_info"`
}

// joinResponse is the body of /join: {"result":..., "params":{...}}.
type joinResponse struct {
	Result string `json:"result"`
	Params any    `json:"params"`
}

// pcConfig is the RTCConfiguration in pc_config (apprtc.py make_pc_config).
type pcConfig struct {
	ICEServers    []pcICEServer `json:"iceServers"`
	BundlePolicy  string        `json:"bundlePolicy"`
	RTCPMuxPolicy string        `json:"rtcpMuxPolicy"`
	ICETransports string        `json:"iceTransports,omitempty"`
}

// pcICEServer is one RTCIceServer of pc_config. "urls" is a single string:
// Android's RoomParametersFetcher reads it with getString, which fails on
// an array.
type pcICEServer struct {
	URLs       string `json:"urls"`
	Username   string `json:"username,omitempty"`
	Credential string `json:"credential,omitempty"`
}

// mediaConstraints is media_constraints (make_media_stream_constraints)
// for the true/false forms of the audio and video parameters.
type mediaConstraints struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// pcConstraints is pc_constraints (make_pc_constraints).
type pcConstraints struct {
	Optional []map[string]bool `json:"optional"`
}

// params builds the room-independent parameters for r, with ICE
// credentials minted for user.
func (s *Server) params(r *http.Request, user string) (roomParams, error) {
	q := r.URL.Query()
	pc := pcConfig{ICEServers: []pcICEServer{}, BundlePolicy: "max-bundle", RTCPMuxPolicy: "require", ICETransports: q.Get("it")}
	if s.cfg.ICE != nil {
		cred, err := s.cfg.ICE.Mint(user)
		if err != nil {
			return roomParams{}, err
		}
		for _, u := range cred.URIs {
			srv := pcICEServer{URLs: u}
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				srv.Username, srv.Credential = cred.Username, cred.Password
			}
			pc.ICEServers = append(pc.ICEServers, srv)
		}
	}
	pcc := pcConstraints{Optional: []map[string]bool{}}
	for _, c := range [...]struct{ param, name string }{{"dtls", "DtlsSrtpKeyAgreement"}, {"dscp", "googDscp"}, {"ipv6", "googIPv6"}} {
		switch strings.ToLower(q.Get(c.param)) {
		case "true":
			pcc.Optional = append(pcc.Optional, map[string]bool{c.name: true})
		case "false":
			pcc.Optional = append(pcc.Optional, map[string]bool{c.name: false})
		}
	}
	media := mediaConstraints{Audio: !strings.EqualFold(q.Get("audio"), "false"), Video: !strings.EqualFold(q.Get("video"), "false")}
	wss, wssPost := s.colliderURLs(r)
	return roomParams{
		PCConfig:               pyDumps(pc),
		PCConstraints:          pyDumps(pcc),
		OfferOptions:           "{}",
		MediaConstraints:       pyDumps(media),
		ICEServerURL:           s.iceServerURL(r),
		ICEServerTransports:    q.Get("tt"),
		WSSURL:                 wss,
		WSSPostURL:             wssPost,
		IsLoopback:             "false",
		ErrorMessages:          []string{},
		WarningMessages:        []string{},
		BypassJoinConfirmation: "false",
		VersionInfo:            "null",
	}, nil
}

// base returns the scheme ("http" or "https") and host clients reach this
// server at: Config.PublicURL's, else the request's.
func (s *Server) base(r *http.Request) (scheme, host string) {
	if s.public != nil {
		return s.public.Scheme, s.public.Host
	}
	if r.TLS != nil {
		return "https", r.Host
	}
	return "http", r.Host
}

// colliderURLs returns wss_url and wss_post_url (apprtc.py
// get_wss_parameters): this server's Collider, "ws"/"http" when the base is
// http or ?wstls=false, "wss"/"https" when it is https or ?wstls=true; the
// host replaced by ?wshpp=host:port when that is a valid host:port.
func (s *Server) colliderURLs(r *http.Request) (wss, post string) {
	scheme, host := s.base(r)
	q := r.URL.Query()
	switch q.Get("wstls") {
	case "false":
		scheme = "http"
	case "true":
		scheme = "https"
	}
	if hp := q.Get("wshpp"); validHostPort(hp) {
		host = hp
	}
	ws := "ws"
	if scheme == "https" {
		ws = "wss"
	}
	return ws + "://" + host + ColliderPrefix + "/ws", scheme + "://" + host + ColliderPrefix
}

// iceServerURL returns ice_server_url: the ICE endpoint of this server (or
// of ?ts=, as AppRTC's ICE_SERVER_URL_TEMPLATE; an empty ts gives ""), with
// ?key=<apikey> when the client gave one.
func (s *Server) iceServerURL(r *http.Request) string {
	q := r.URL.Query()
	var u string
	if ts, ok := q["ts"]; ok {
		if ts[0] == "" {
			return ""
		}
		u = strings.TrimRight(ts[0], "/") + DefaultICEConfigPath
	} else {
		scheme, host := s.base(r)
		u = scheme + "://" + host + s.cfg.ICEConfigPath
	}
	if key := q.Get("apikey"); key != "" {
		u += "?key=" + url.QueryEscape(key)
	}
	return u
}

// roomLink returns room_link: this server's /r/<room> followed by the
// request's query, each name and value HTML-escaped as apprtc.py's
// append_url_arguments does with cgi.escape.
func (s *Server) roomLink(r *http.Request, room string) string {
	scheme, host := s.base(r)
	if r.URL.Query().Get("wstls") == "true" {
		scheme = "https" // maybe_use_https_host_url: behind a TLS proxy
	}
	var b strings.Builder
	b.WriteString(scheme + "://" + host + "/r/" + room)
	seen := map[string]bool{}
	q := r.URL.Query()
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k == "" || seen[k] {
			continue
		}
		seen[k] = true
		sep := "&"
		if len(seen) == 1 {
			sep = "?"
		}
		b.WriteString(sep + cgiEscape(k) + "=" + cgiEscape(q.Get(k)))
	}
	return b.String()
}

// cgiEscape is Python's cgi.escape(s, True).
var cgiEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace

// validHostPort reports whether s is host:port with a host of letters,
// digits, dots, dashes (or a bracketed IPv6 address) and a numeric port.
func validHostPort(s string) bool {
	if s == "" || len(s) > 261 {
		return false
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// pyDumps encodes v as Python's json.dumps does by default: ", " and ": "
// between items, and no HTML escaping. v's keys come out in its struct
// order.
func pyDumps(v any) string {
	compact := marshalNoHTML(v)
	var b strings.Builder
	inString, escaped := false, false
	for _, c := range compact {
		b.WriteByte(c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':'):
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// marshalNoHTML is json.Marshal without HTML escaping (Python's json.dumps
// leaves <, > and & alone). The values encoded here cannot fail to encode.
func marshalNoHTML(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
