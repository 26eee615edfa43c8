package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"

	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/turnrest"
)

// route is one entry of the URL map: a net/http ServeMux pattern, a path
// that it must serve (the test checks that no other route takes it), and
// what serves it.
type route struct {
	pattern string
	sample  string // "METHOD /path"
	handler http.Handler
}

// routes is the server's whole URL map, in one place. Everything is on
// the one HTTP port (and on -https):
//
//	/                       the page: publish from the camera (WHIP), live streams
//	/play/APP/NAME          the player page of a stream (WHEP), iframe-embeddable
//	/assets/                the pages' scripts and style sheet
//	/whip/APP/NAME          WHIP (RFC 9725): publish APP/NAME, the stream of rtmp://HOST/APP/NAME
//	/whep/APP/NAME          WHEP: play it
//	/turn                   TURN REST credentials (draft-uberti-behave-turn-rest)
//	/v1alpha/iceconfig      the same as browsers' iceServers (AppRTC's ICE endpoint)
//	/healthz                liveness: "ok"
//	/metrics                Prometheus
//	/api/streams            the live streams as JSON
//	/join/ /message/ /leave/ /params /r/   the AppRTC room server, at AppRTC's fixed paths
//	/collider/              the AppRTC Collider (WebSocket signaling)
//	/kvs/                   the AWS KVS-compatible signaling API (needs -https for wss://)
//
// NAME may have several segments, in /play/, /whip/ and /whep/: the whole
// path is the stream's name, as in MediaMTX (/play/live/a/b plays the
// stream of rtmp://HOST/live/a/b; see whip.Stream).
func (a *app) routes() []route {
	pages := newPages()
	rs := []route{
		{"GET /{$}", "GET /", pages.index()},
		{"GET /play/{app}/{name}", "GET /play/live/cam", pages.player()},
		// Nested names; not "/play/{app}/{name...}", which would redirect
		// /play/live to /play/live/.
		{"GET /play/{app}/{name}/{more...}", "GET /play/live/a/b", pages.player()},
		{"GET /assets/", "GET /assets/whipwhep.js", pages.assets()},
		{"/whip/", "POST /whip/live/cam", a.whip},
		{"/whep/", "POST /whep/live/cam", a.whip},
		{"/turn", "GET /turn", a.turn.Handler(turnrest.FormatREST)},
		{"/v1alpha/iceconfig", "POST /v1alpha/iceconfig", a.turn.Handler(turnrest.FormatICE)},
		{"GET /healthz", "GET /healthz", http.HandlerFunc(healthz)},
		{"GET /metrics", "GET /metrics", a.metrics.handler()},
		{"GET /api/streams", "GET /api/streams", http.HandlerFunc(a.streams)},
		{a.kvs.Pattern(), "POST /kvs/describeSignalingChannel", a.kvs},
	}
	samples := map[string]string{"/join/": "POST /join/room1", "/message/": "POST /message/room1/1234",
		"/leave/": "POST /leave/room1/1234", "/params": "GET /params", "/r/": "GET /r/room1",
		"/collider/": "GET /collider/ws"}
	for _, p := range apprtc.Paths() {
		rs = append(rs, route{p, samples[p], a.apprtc})
	}
	return rs
}

// newRouter mounts rs on a ServeMux.
func newRouter(rs []route) *http.ServeMux {
	m := http.NewServeMux()
	for _, r := range rs {
		m.Handle(r.pattern, r.handler)
	}
	return m
}

func healthz(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }

// streamsDoc is the answer of /api/streams.
type streamsDoc struct {
	Streams []streamDoc `json:"streams"`
}

// streamDoc is one live stream with the URLs that play it.
type streamDoc struct {
	streamInfo
	URLs struct {
		RTMP   string `json:"rtmp"`
		WHEP   string `json:"whep"`
		Player string `json:"player"`
	} `json:"urls"`
}

// streams answers /api/streams: every published stream, its publisher's
// protocol, its viewers by protocol, and the URLs to play it as the
// requesting client reaches this server.
func (a *app) streams(w http.ResponseWriter, r *http.Request) {
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	rtmpBase := "rtmp://" + net.JoinHostPort(host, portOf(a.bound.RTMP))
	doc := streamsDoc{Streams: []streamDoc{}}
	for _, s := range a.reg.snapshot().streams {
		d := streamDoc{streamInfo: s}
		d.URLs.RTMP = rtmpBase + "/" + s.Path
		d.URLs.WHEP = base + "/whep/" + escapePath(s.Path)
		d.URLs.Player = base + "/play/" + escapePath(s.Path)
		doc.Streams = append(doc.Streams, d)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(doc)
}
