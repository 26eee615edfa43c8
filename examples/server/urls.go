package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// printURLs tells the user where to publish and play, with the addresses
// the server is bound to (a wildcard address as the first -public-ip, or
// 127.0.0.1).
func (a *app) printURLs(w io.Writer) {
	web := "http://" + a.hostPort(a.bound.HTTP)
	rtmpURL := "rtmp://" + a.hostPort(a.bound.RTMP)
	fmt.Fprintf(w, "streamwire server\n")
	fmt.Fprintf(w, "  page:          %s/\n", web)
	if a.bound.HTTPS != nil {
		fmt.Fprintf(w, "  page (HTTPS):  https://%s/\n", a.hostPort(a.bound.HTTPS))
	}
	key, bearer := "", ""
	if a.cfg.Token != "" { // the token itself is not printed
		key, bearer = "?token=TOKEN", "   (Authorization: Bearer TOKEN)"
	}
	fmt.Fprintf(w, "  publish RTMP:  %s/live/NAME%s   (ffmpeg -re -i in.mp4 -c:v libx264 -bf 0 -c:a aac -f flv %s/live/NAME%s)\n",
		rtmpURL, key, rtmpURL, key)
	fmt.Fprintf(w, "  publish WHIP:  %s/whip/live/NAME%s\n", web, bearer)
	fmt.Fprintf(w, "  play (page):   %s/play/live/NAME\n", web)
	fmt.Fprintf(w, "  play WHEP:     %s/whep/live/NAME\n", web)
	fmt.Fprintf(w, "  play RTMP:     %s/live/NAME\n", rtmpURL)
	fmt.Fprintf(w, "  WebRTC media:  udp %s", a.hostPort(a.bound.UDP))
	if a.bound.TCP != nil {
		fmt.Fprintf(w, ", tcp %s", a.hostPort(a.bound.TCP))
	}
	fmt.Fprintf(w, "\n  metrics:       %s/metrics\n", web)
}

// hostPort is addr with a wildcard IP replaced by one that clients reach.
func (a *app) hostPort(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if len(a.cfg.PublicIPs) > 0 {
			host = a.cfg.PublicIPs[0]
		}
	}
	return net.JoinHostPort(host, port)
}

// escapePath percent-encodes each segment of a stream's path, "app/name"
// (name may have several segments), for a URL path: what /whip/, /whep/
// and /play/ read back as the same stream (whip.ParseStream).
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// portOf is addr's port.
func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	if _, err := strconv.Atoi(port); err != nil {
		return ""
	}
	return port
}
