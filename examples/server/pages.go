package main

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/streamwire/streamwire/signaling/whip"
)

// web holds the pages and their scripts, served as they are: no build
// step, no CDN.
//
//go:embed web
var web embed.FS

// pages serves the embedded web page files.
type pages struct{ root fs.FS }

func newPages() pages {
	root, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return pages{root: root}
}

// Content security policies: scripts, styles and connections only from
// this server; media from the camera and the peer connection.
const (
	cspPage   = "default-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; frame-ancestors 'self'"
	cspPlayer = "default-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; frame-ancestors *"
)

// index serves the page at /: publish from the camera, the live streams.
func (p pages) index() http.Handler { return p.file("index.html", cspPage) }

// player serves the player page at /play/APP/NAME, which any site may
// embed in an iframe; its script reads APP/NAME from the path. A path that
// names no stream (see whip.ParseStream) is 404.
func (p pages) player() http.Handler {
	page := p.file("play.html", cspPlayer)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := whip.ParseStream(strings.TrimPrefix(r.URL.EscapedPath(), "/play/")); err != nil {
			http.NotFound(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}

func (p pages) file(name, csp string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, p.root, name)
	})
}

// assets serves /assets/: scripts and the style sheet.
func (p pages) assets() http.Handler {
	fsrv := http.FileServerFS(p.root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
