// What the server says about itself: its version (-version, the API),
// and at start the URLs to publish, play and watch it with, from the
// addresses it really bound (RFC 3986 URIs; the play paths are those
// httpflv.go and the HTTP routes serve).
package main

import (
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
)

// rtmphubVersion is the release; a build may set it:
//
//	go build -ldflags "-X main.rtmphubVersion=1.2.0"
//
// /api/v1/health and /api/v1/info report it.
var rtmphubVersion = "0.1.0"

// versionLine is what -version prints: the release, the commit the
// binary was built from when Go recorded one (a build inside a git
// checkout; "+dirty" when it had local changes), and the Go toolchain.
func versionLine() string {
	line := "rtmphub " + rtmphubVersion
	if rev := buildRevision(); rev != "" {
		line += " (" + rev + ")"
	}
	return line + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// buildRevision is the VCS revision and time runtime/debug recorded in the
// binary, or the module version of a "go install ...@version"; "" if
// neither.
func buildRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, at, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case "vcs.time":
			at = " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		return rev + dirty + at
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return ""
}

// logURLs logs, once the listeners are bound, where to publish, where to
// play each protocol and where the status page is, with the bound ports
// (a wildcard address is shown as 127.0.0.1); TLS ones ("" when off) on
// a line of their own.
func logURLs(log *slog.Logger, rtmpAddr, httpAddr, rtmpsAddr, httpsAddr string) {
	log.Info("rtmphub "+rtmphubVersion+" ready", urlAttrs("rtmp", "http", "ws", rtmpAddr, httpAddr)...)
	if rtmpsAddr != "" || httpsAddr != "" {
		log.Info("rtmphub TLS ready", urlAttrs("rtmps", "https", "wss", rtmpsAddr, httpsAddr)...)
	}
}

// urlAttrs are the URL attributes of one RTMP and one HTTP listener (an
// empty address is skipped).
func urlAttrs(rtmp, http, ws, rtmpAddr, httpAddr string) []any {
	const stream = "/{app}/{name}"
	var attrs []any
	if rtmpAddr != "" {
		u := rtmp + "://" + urlHostPort(rtmpAddr) + stream
		attrs = append(attrs, slog.String("publish", u), slog.String("play.rtmp", u))
	}
	if httpAddr != "" {
		base := urlHostPort(httpAddr)
		attrs = append(attrs,
			slog.String("play.flv", http+"://"+base+stream+".flv"),
			slog.String("play.ws", ws+"://"+base+stream+".flv"),
			slog.String("play.hls", http+"://"+base+stream+".m3u8"),
			slog.String("play.mp4", http+"://"+base+stream+".mp4"),
			slog.String("status", http+"://"+base+"/"),
			slog.String("api", http+"://"+base+"/api/v1/streams"),
			slog.String("metrics", http+"://"+base+"/metrics"))
	}
	return attrs
}

// urlHostPort is a bound address as a URL's host:port: a wildcard IP
// (":1935", "[::]:1935") becomes 127.0.0.1, reachable from the same host.
func urlHostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
