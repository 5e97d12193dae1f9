// Command rtmphub is a live-streaming server: it takes RTMP in and serves
// RTMP, HTTP-FLV, WebSocket-FLV, HLS / Low-Latency HLS and live fragmented
// MP4 out, with the Go standard library only.
// It is also written to be read: a newcomer should be able to learn RTMP and
// FLV from it, file by file.
//
//	go run .                               # RTMP on :1935, HTTP on :8000
//	ffmpeg -re -i in.mp4 -c copy -f flv rtmp://127.0.0.1/live/cam
//	ffplay rtmp://127.0.0.1/live/cam
//	ffplay http://127.0.0.1:8000/live/cam.flv
//	(ws://127.0.0.1:8000/live/cam.flv for flv.js / mpegts.js in a browser)
//	http://127.0.0.1:8000/live/cam.m3u8 (HLS), .../live/cam.mp4 (a plain <video>)
//
// # Data flow
//
// One video frame, from the publisher's socket to each player's, every
// hop with its function (file):
//
//	read(2)
//	  -> rawReader.Read          nbwrite_linux.go  via rawConn.Read (withRawReads,
//	                                               installed by countingListener.Accept;
//	                                               a plain Read elsewhere)
//	  -> countingConn.Read       countconn.go      counts the socket's bytes
//	  -> rtmpConn.readMessage    rtmpconn.go       the session's read buffer
//	                                               (swapReader: 16 KB once it publishes)
//	  -> ChunkReader.ReadMessage chunk.go          chunks -> one whole message
//	  -> rtmpSession.read        session.go        (after serverHandshake, handshake.go)
//	  -> rtmpSession.handle      session.go        rtmpConn.control answers acks/pings
//	  -> rtmpSession.publishMessage  session.go    a publisher's audio/video/data
//	  -> messageFrame            session.go        ClassifyTag (flvmux.go): sequence
//	                                               header, keyframe, codec, Enhanced RTMP
//	  -> newFrame                gop.go            payload kept once, each protocol's
//	                                               framing built once around it
//	  -> Stream.append           hub.go            frame counters
//	  -> gopRing.append          gop.go            the GOP ring: held for late joiners,
//	                                               wakes the fan-out
//	  -> fanout.work             fanout.go         up to one worker per CPU and stream
//	  -> fanShard.pass           fanout.go         the ring read once per pass
//	                                               (gopRing.window) for all its players
//	  -> fanShard.push           fanout.go         caught-up players
//	  -> wireSink.tryFrames      sink.go           Frame.appendWire (gop.go): the
//	                                               protocol's framing + payload slices
//	  -> sendmsgWriter.tryWrite  nbwrite_linux.go  one non-blocking gathered write
//	  -> sendmsg(2)
//
// A player that is behind (joining, or its socket full) writes from a
// goroutine of its own (none while it is caught up: player.play, and
// player.resume on the fan-out's hand-back): player.life ->
// player.follow -> player.writeFrames
// (hub.go) -> wireSink.sendFrames (sink.go) -> sendmsgWriter.tryWrite,
// and for the rest wireSink.writeLocked -> sendmsgWriter.writeAll
// (nbwrite_linux.go) -> sendmsg(2); over TLS or off Linux
// streamWriter.writeAll (writer.go) -> write(2). Nor does a player
// hold a goroutine for its reading side while its client sends nothing:
// rtmpSession.read (session.go), awaitGone and wsWatch (httpflv.go) park
// the socket in one epoll set (parkReads, readypoll_linux.go) and go on
// in a new goroutine when it is readable.
//
// What each protocol's write carries:
//
//	RTMP      pre-built chunk headers + payload (chunk.go); rtmpSession.onPlay
//	HTTP-FLV  FLV header + tags (flvmux.go); serveFLVPlayer -> playHTTP -> runFLVPlayer (httpflv.go)
//	WS-FLV    the same FLV bytes in RFC 6455 frames (wsframe.go); playWS (httpflv.go)
//	MP4       an init segment, then a moof + mdat per batch (fmp4.go); serveFLVPlayer -> playMP4 -> runFLVPlayer
//
// HLS reads the same ring: hlsService.muxer (hlssession.go) starts an
// hlsMuxer, which follows the ring like a player (hlsMuxer.consume ->
// hlsCutter.feed, hls.go) and cuts parts at most -hls-part long and
// segments at keyframes (hlsCutter.closePart -> appendFragment, fmp4.go ->
// hlsWindow.addPart, hlsplaylist.go). Viewers fetch them:
// hlsService.route -> serveMediaPlaylist / servePart -> hlsPart.appendWire
// -> writeMedia; after a connection's first media request,
// hlsConn.loop (hlsconn.go) reads its requests itself: parseRequestHead ->
// hlsService.route into an hlsWire -> one writev(2) per answer.
//
// Relay hooks (relay.go, record.go): rtmpSession.onPublish ->
// relays.publishStarted -> relays.startRecording (a recorder is a player
// whose frameSink, sink.go, is recorder.writeFrame) and relays.startPush (a
// pushRelay's player sends each frame through a Client: pushFrame ->
// Client.WriteMedia -> rtmpConn.write);
// a player's relays.addPlayer -> relays.ensurePull on an edge: an
// edgePull's Client.ReadMessage -> messageFrame -> Stream.append, as a
// session's. The JSON API, Prometheus text and status page are api.go's,
// from the sampler of stats.go.
//
// # Specifications
//
//   - Adobe RTMP 1.0 (2012): handshake (5.2), chunking (5.3), protocol
//     control (5.4), user control (6.2, 7.1.7), commands (7.2).
//   - Adobe AMF0 (2006) for command and data messages.
//   - Adobe FLV 10.1, Annex E: FLV file header, tags, audio/video tag headers.
//   - Enhanced RTMP v1/v2 (veovera/enhanced-rtmp): FourCC video and audio
//     tag headers, multitrack, connect capabilities.
//   - RFC 6455 (WebSocket): handshake, framing, control frames, close codes.
//   - ISO/IEC 14496-10/-15/-3, AV1, VP9, RFC 7845 for the codec
//     configuration the stats API reports (codecs.go).
//   - ISO/IEC 14496-12 (ISO BMFF) for fragmented MP4 (fmp4.go).
//   - RFC 8216 and draft-pantos-hls-rfc8216bis (HLS, Low-Latency HLS),
//     RFC 9112 (HTTP/1.1 messages) for the HLS files.
//
// # Connection lifecycle
//
// As net/http's server (connTracker, conntrack.go): an accept loop that
// backs off on temporary errors, one goroutine per connection that starts
// with a deferred recover-and-close, and live connections tracked under a
// mutex. On SIGINT/SIGTERM the server drains (shutdown.go): it stops
// accepting, tells every player its stream ended, completes recordings
// and on_done hooks, and exits 0 within -shutdown-timeout.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errShowVersion: -version was given; run prints the version and exits 0.
var errShowVersion = errors.New("show version")

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errShowVersion) {
			fmt.Fprintln(stdout, versionLine())
			return 0
		}
		fmt.Fprintln(stderr, "rtmphub:", err)
		return 2
	}
	logger := newLogger(stderr, cfg.LogLevel)
	slog.SetDefault(logger)
	setGCPercent(cfg.GCPercent)
	srv := NewServer(cfg, logger)
	if err := srv.Listen(); err != nil {
		logger.Error("listen", "err", err)
		return 1
	}
	logURLs(logger, srv.RTMPAddr(), srv.HTTPAddr(), srv.RTMPSAddr(), srv.HTTPSAddr())
	srv.Serve()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logger.Info("shutting down", "signal", s.String(), "timeout", cfg.ShutdownTimeout.Duration)
	return drainOnSignal(srv, cfg.ShutdownTimeout.Duration, sig, logger)
}

// setGCPercent sets the garbage collector's target (as GOGC does) unless
// the GOGC environment variable is set: that one wins. rtmphub allocates
// little per second (mostly the frames of its publications, whose
// payloads hold no pointers to scan), so a GC cycle at 20% heap growth
// instead of Go's 100% costs no CPU that shows (BENCHMARKS.md), and the
// heap the runtime keeps between cycles, idle but resident, is a good
// part of what each player costs at thousands of them.
func setGCPercent(percent int) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(percent)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// Duration is a time.Duration that reads "5s" from JSON.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	d.Duration = v
	return err
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Config holds every setting; the JSON file (-config) uses the json names,
// flags override it.
type Config struct {
	RTMP     string `json:"rtmp"`     // RTMP listen address
	HTTP     string `json:"http"`     // HTTP-FLV, WS-FLV and API listen address
	LogLevel string `json:"logLevel"` // debug, info, warn, error

	GCPercent int `json:"gcPercent"` // GC target as GOGC (-1: off); the GOGC environment variable wins

	// TLS: RTMPS and HTTPS (+ WSS) listeners, off unless an address is set.
	RTMPS   string `json:"rtmps"`
	HTTPS   string `json:"https"`
	TLSCert string `json:"tlsCert"` // PEM certificate chain file
	TLSKey  string `json:"tlsKey"`  // PEM private key file

	HandshakeTimeout Duration `json:"handshakeTimeout"` // RTMP handshake + connect must finish within
	IdleTimeout      Duration `json:"idleTimeout"`      // a connection that sends nothing for this long is closed (publishers, idle RTMP)
	WriteTimeout     Duration `json:"writeTimeout"`     // a player whose socket takes no data for this long is closed
	MaxLag           Duration `json:"maxLag"`           // a player further behind skips to the newest keyframe
	WriteDelay       Duration `json:"writeDelay"`       // optional: linger after a wake-up to merge writes
	MergeWhenBusy    bool     `json:"mergeWhenBusy"`    // a saturated fan-out lingers to merge writes (fanout.go)
	PlayWait         Duration `json:"playWait"`         // HTTP/WS players wait this long for a publisher
	ShutdownTimeout  Duration `json:"shutdownTimeout"`  // SIGTERM/SIGINT: drain within this, then close at once

	// Publisher takeover (pubchange.go) and kicks.
	Takeover        TakeoverPolicy `json:"takeover"`        // idle, always, never
	TakeoverIdle    Duration       `json:"takeoverIdle"`    // -takeover idle: a publisher silent this long is replaced
	KickEndsPlayers bool           `json:"kickEndsPlayers"` // kicking a publisher also closes its players

	MaxMessageSize  int `json:"maxMessageSize"`  // largest RTMP message accepted
	MaxChunkStreams int `json:"maxChunkStreams"` // chunk streams per RTMP connection
	MaxConns        int `json:"maxConns"`        // connections overall (RTMP + HTTP)
	MaxConnsPerIP   int `json:"maxConnsPerIP"`   // connections per client address
	MaxHeaderBytes  int `json:"maxHeaderBytes"`  // HTTP request header limit

	APIToken string `json:"apiToken"` // when set, /api/ needs "Authorization: Bearer <token>"

	// Access control (auth.go).
	AuthPublish bool     `json:"authPublish"` // publishers need a valid ?sign=
	AuthPlay    bool     `json:"authPlay"`    // players need a valid ?sign=
	AuthSecret  string   `json:"authSecret"`  // secret of NMS-style signed URLs
	OnPublish   string   `json:"onPublish"`   // hook URL asked before a publish
	OnPlay      string   `json:"onPlay"`      // hook URL asked before a play
	OnDone      string   `json:"onDone"`      // hook URL told when a publish or play ends
	HookTimeout Duration `json:"hookTimeout"` // a hook that does not answer in time denies

	// Recording and relays (record.go, relay.go).
	RecordDir string              `json:"recordDir"` // record every publish under DIR/app/name/
	Push      []string            `json:"push"`      // forward every publish to rtmp://host:port[/app]
	Origin    string              `json:"origin"`    // edge mode: pull streams with no local publisher from here
	EdgeGrace Duration            `json:"edgeGrace"` // a pull with no local player left stops after this
	Apps      map[string]AppRelay `json:"apps"`      // per-app record / push / origin rules

	// HLS (hls.go).
	HLSSegment  Duration `json:"hlsSegment"`  // a segment is cut at the first keyframe this far into it
	HLSPart     Duration `json:"hlsPart"`     // the part target: no part is longer
	HLSSegments int      `json:"hlsSegments"` // segments a playlist lists (at most; the ring may hold fewer)
	HLSAlways   bool     `json:"hlsAlways"`   // cut every publication from its start, not from its first viewer
}

func defaultConfig() *Config {
	return &Config{
		RTMP:             ":1935",
		HTTP:             ":8000",
		LogLevel:         "info",
		GCPercent:        20,
		HandshakeTimeout: Duration{10 * time.Second},
		IdleTimeout:      Duration{30 * time.Second},
		WriteTimeout:     Duration{10 * time.Second},
		MaxLag:           Duration{5 * time.Second},
		PlayWait:         Duration{30 * time.Second},
		ShutdownTimeout:  Duration{10 * time.Second},
		Takeover:         TakeoverIdle,
		TakeoverIdle:     Duration{2 * time.Second},
		MaxMessageSize:   16 << 20,
		MaxChunkStreams:  64,
		MaxConns:         20000,
		MaxConnsPerIP:    0,
		MaxHeaderBytes:   16 << 10,
		HookTimeout:      Duration{5 * time.Second},
		EdgeGrace:        Duration{5 * time.Second},
		HLSSegment:       Duration{time.Second},
		HLSPart:          Duration{200 * time.Millisecond},
		HLSSegments:      7,
		MergeWhenBusy:    true,
	}
}

// loadConfig reads defaults, then the -config file, then the flags that
// were given (flags win over the file).
func loadConfig(args []string, stderr io.Writer) (*Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("rtmphub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "JSON config file with the same settings")
	showVersion := fs.Bool("version", false, "print the version and exit")
	bindFlags(fs, cfg)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *showVersion {
		return nil, errShowVersion
	}
	if *configFile == "" {
		return cfg, cfg.check()
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	b, err := os.ReadFile(*configFile)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", *configFile, err)
	}
	for name, v := range set {
		fs.Set(name, v)
	}
	return cfg, cfg.check()
}

// check rejects settings the server cannot honour as documented.
func (c *Config) check() error {
	if c.MaxHeaderBytes <= httpHeaderSlack {
		return fmt.Errorf("-max-header-bytes %d: must be more than %d", c.MaxHeaderBytes, httpHeaderSlack)
	}
	return nil
}

// httpHeaderSlack is what net/http reads past http.Server.MaxHeaderBytes
// before it answers 431 (its first read of a request is limited to
// MaxHeaderBytes + 4096 bytes). The server sets MaxHeaderBytes that much
// lower, so that a request head (request line, header fields and the
// empty line) of -max-header-bytes bytes is read, and one byte more is
// answered 431.
const httpHeaderSlack = 4096

func bindFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.RTMP, "rtmp", c.RTMP, "RTMP listen `address`")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "HTTP listen `address` (HTTP-FLV, WS-FLV, API)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error")
	fs.IntVar(&c.GCPercent, "gc-percent", c.GCPercent, "GC target percent, as GOGC (-1: off); the GOGC environment variable wins")
	fs.StringVar(&c.RTMPS, "rtmps", c.RTMPS, "RTMPS (RTMP over TLS) listen `address` (needs -tls-cert, -tls-key)")
	fs.StringVar(&c.HTTPS, "https", c.HTTPS, "HTTPS + WSS listen `address` (needs -tls-cert, -tls-key)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate `file` for -rtmps and -https")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key `file` for -rtmps and -https")
	fs.DurationVar(&c.HandshakeTimeout.Duration, "handshake-timeout", c.HandshakeTimeout.Duration, "RTMP handshake and connect must finish within")
	fs.DurationVar(&c.IdleTimeout.Duration, "idle-timeout", c.IdleTimeout.Duration, "close an RTMP connection that sends nothing for")
	fs.DurationVar(&c.WriteTimeout.Duration, "write-timeout", c.WriteTimeout.Duration, "close a player whose socket takes no data for")
	fs.DurationVar(&c.MaxLag.Duration, "max-lag", c.MaxLag.Duration, "a player further behind skips to the newest keyframe")
	fs.DurationVar(&c.WriteDelay.Duration, "write-delay", c.WriteDelay.Duration, "linger after new frames to merge writes (adds latency)")
	fs.BoolVar(&c.MergeWhenBusy, "merge-when-busy", c.MergeWhenBusy, "when the fan-out is saturated (passes over 2 ms), linger up to 50 ms to merge writes")
	fs.DurationVar(&c.PlayWait.Duration, "play-wait", c.PlayWait.Duration, "HTTP/WS players wait this long for a publisher (first, and after one leaves)")
	fs.DurationVar(&c.ShutdownTimeout.Duration, "shutdown-timeout", c.ShutdownTimeout.Duration, "on SIGTERM/SIGINT, drain within this, then close at once")
	fs.Var(&c.Takeover, "takeover", "a new publisher replaces the current one: idle (silent for -takeover-idle), always, never")
	fs.DurationVar(&c.TakeoverIdle.Duration, "takeover-idle", c.TakeoverIdle.Duration, "with -takeover idle, a publisher that sent no media for this long is replaced")
	fs.BoolVar(&c.KickEndsPlayers, "kick-ends-players", c.KickEndsPlayers, "kicking a publisher (API) also closes its players (default: they wait)")
	fs.IntVar(&c.MaxMessageSize, "max-message-size", c.MaxMessageSize, "largest RTMP message in bytes")
	fs.IntVar(&c.MaxChunkStreams, "max-chunk-streams", c.MaxChunkStreams, "chunk streams per RTMP connection")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "connections overall (0: no limit)")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", c.MaxConnsPerIP, "connections per client IP (0: no limit)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, "HTTP request header limit")
	fs.StringVar(&c.APIToken, "api-token", c.APIToken, "require this bearer token on /api/")
	fs.BoolVar(&c.AuthPublish, "auth-publish", c.AuthPublish, "publishers need a signed URL (?sign=)")
	fs.BoolVar(&c.AuthPlay, "auth-play", c.AuthPlay, "players need a signed URL (?sign=)")
	fs.StringVar(&c.AuthSecret, "auth-secret", c.AuthSecret, "secret for signed URLs")
	fs.StringVar(&c.OnPublish, "on-publish", c.OnPublish, "hook `URL` that must allow each publish (POST JSON, 2xx allows)")
	fs.StringVar(&c.OnPlay, "on-play", c.OnPlay, "hook `URL` that must allow each play")
	fs.StringVar(&c.OnDone, "on-done", c.OnDone, "hook `URL` told when a publish or play ends")
	fs.DurationVar(&c.HookTimeout.Duration, "hook-timeout", c.HookTimeout.Duration, "a hook that does not answer within this denies")
	fs.StringVar(&c.RecordDir, "record-dir", c.RecordDir, "record every publish to `DIR`/app/name/<start>.flv")
	fs.Var((*urlList)(&c.Push), "push", "forward each publish to rtmp://host:port[/app] (repeatable)")
	fs.StringVar(&c.Origin, "origin", c.Origin, "edge mode: pull streams with no local publisher from rtmp://host:port[/app]")
	fs.DurationVar(&c.EdgeGrace.Duration, "edge-grace", c.EdgeGrace.Duration, "stop a pull this long after its last local player left")
	fs.DurationVar(&c.HLSSegment.Duration, "hls-segment", c.HLSSegment.Duration, "HLS: cut a segment at the first keyframe this far into it")
	fs.DurationVar(&c.HLSPart.Duration, "hls-part", c.HLSPart.Duration, "HLS: part target duration (Low-Latency HLS)")
	fs.IntVar(&c.HLSSegments, "hls-segments", c.HLSSegments, "HLS: segments listed in a playlist")
	fs.BoolVar(&c.HLSAlways, "hls-always", c.HLSAlways, "HLS: cut every publication from its start, so that a first viewer starts at once (memory: each stream keeps its playlist window)")
}

// serverEnv is what the server's connections use of it: the settings,
// the hub, and the concerns that hang off the server, each a type of its
// own. A session gets a copy (the fields are shared pointers).
type serverEnv struct {
	cfg    *Config
	hub    *Hub
	log    *slog.Logger
	conns  *connTracker // live connections and goroutines (conntrack.go)
	auth   *authorizer  // signed URLs and hooks (auth.go)
	relays *relays      // recordings, push relays, edge pulls (relay.go, record.go)
	refuse *refusalLog  // refused publishes, plays and connections, logged (refusals.go)
}

// Server owns the listeners and the HTTP servers; the rest hangs off its
// serverEnv.
type Server struct {
	serverEnv

	rtmpLn  net.Listener
	httpLn  net.Listener
	rtmpsLn net.Listener // nil unless -rtmps
	httpsLn net.Listener // nil unless -https
	http    *http.Server
	https   *http.Server

	stats *sampler    // samples for the stats API (stats.go)
	api   *api        // the JSON API, /metrics, the status page (api.go)
	hls   *hlsService // HLS muxers and viewers (hlssession.go)
}

func NewServer(cfg *Config, logger *slog.Logger) *Server {
	hub := newHub(cfg)
	refuse := newRefusalLog(logger)
	conns := newConnTracker(cfg, logger, refuse)
	s := &Server{serverEnv: serverEnv{cfg: cfg, log: logger, hub: hub, conns: conns, refuse: refuse,
		auth:   newAuthorizer(cfg, logger),
		relays: newRelays(cfg, hub, logger, conns)},
		stats: newSampler(hub)}
	s.hls = newHLSService(&s.serverEnv)
	if cfg.HLSAlways {
		s.relays.onPublish(s.hls.always)
	}
	s.stats.hlsRequests = s.hls.requestCounts
	s.api = &api{cfg: cfg, hub: hub, log: logger, stats: s.stats, relays: s.relays, addrs: s.addrs}
	s.http = s.newHTTPServer()
	s.http.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // plaintext: HTTP/1.x only
	// -https: HTTP/2 (RFC 9113) where the client's ALPN offers it (Safari's
	// Low-Latency HLS needs it), HTTP/1.1 otherwise. Extended CONNECT
	// (RFC 8441) is not announced, so browsers open WebSockets over
	// HTTP/1.1 connections of their own.
	s.https = s.newHTTPServer()
	return s
}

func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: s.cfg.HandshakeTimeout.Duration,
		IdleTimeout:       s.cfg.IdleTimeout.Duration,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes - httpHeaderSlack,
		ConnState:         s.conns.httpConnState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Listen binds the RTMP and HTTP addresses, and the TLS ones if set.
func (s *Server) Listen() error {
	err := s.listen()
	if err != nil {
		s.closeListeners()
		return err
	}
	s.log.Info("listening", "rtmp", s.rtmpLn.Addr().String(), "http", s.httpLn.Addr().String())
	return nil
}

func (s *Server) listen() error {
	var err error
	// listenCounted (countconn.go) counts every socket's bytes for the stats
	if s.rtmpLn, err = listenCounted(s.cfg.RTMP, nil); err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	httpLn, err := listenCounted(s.cfg.HTTP, nil)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	// HLS viewers' connections leave net/http and may come back (hlsconn.go)
	s.httpLn = s.hls.listenVia(httpLn)
	if s.cfg.RTMPS == "" && s.cfg.HTTPS == "" {
		return nil
	}
	tc, err := s.tlsConfig()
	if err != nil {
		return err
	}
	if s.cfg.RTMPS != "" {
		if s.rtmpsLn, err = listenCounted(s.cfg.RTMPS, tc); err != nil {
			return fmt.Errorf("rtmps: %w", err)
		}
		s.log.Info("listening", "rtmps", s.rtmpsLn.Addr().String())
	}
	if s.cfg.HTTPS != "" {
		htc := tc.Clone()
		htc.NextProtos = []string{"h2", "http/1.1"} // ALPN, RFC 7301
		if s.httpsLn, err = listenCounted(s.cfg.HTTPS, htc); err != nil {
			return fmt.Errorf("https: %w", err)
		}
		s.log.Info("listening", "https", s.httpsLn.Addr().String())
	}
	return nil
}

// tlsConfig loads -tls-cert / -tls-key. HTTP/2 is not offered: HTTP-FLV
// and WebSocket take over the connection, which HTTP/2 does not allow.
func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.cfg.TLSCert == "" || s.cfg.TLSKey == "" {
		return nil, errors.New("-rtmps and -https need -tls-cert and -tls-key")
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"},
		MinVersion: tls.VersionTLS12}, nil
}

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.rtmpLn, s.httpLn, s.rtmpsLn, s.httpsLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Serve starts the accept loops in the background.
func (s *Server) Serve() {
	s.conns.spawn(func() { s.conns.accept(s.rtmpLn, s.serveRTMP) })
	s.conns.spawn(func() { s.http.Serve(s.httpLn) })
	s.conns.spawn(func() { s.stats.run(s.conns.stopping()) })
	if s.rtmpsLn != nil {
		s.conns.spawn(func() { s.conns.accept(s.rtmpsLn, s.serveRTMP) })
	}
	if s.httpsLn != nil {
		s.conns.spawn(func() { s.https.Serve(s.httpsLn) })
	}
}

// serveRTMP is the connection handler of the RTMP listeners (session.go).
func (s *Server) serveRTMP(c net.Conn) bool { return serveRTMPSession(s.serverEnv, c) }

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *Server) Close() {
	s.conns.shutdown()
	s.closeListeners()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, hs := range []*http.Server{s.http, s.https} {
		hs.Shutdown(ctx)
		hs.Close()
	}
	s.conns.wait()
}

// RTMPAddr and HTTPAddr are the bound addresses (tests listen on :0).
func (s *Server) RTMPAddr() string { return s.rtmpLn.Addr().String() }
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// addrs is what the API reports of the bound addresses.
// addrs is RTMPAddr and HTTPAddr, "" for a listener not open (a server
// built for a test without them).
func (s *Server) addrs() (rtmp, http string) {
	if s.rtmpLn != nil {
		rtmp = s.RTMPAddr()
	}
	if s.httpLn != nil {
		http = s.HTTPAddr()
	}
	return rtmp, http
}

// validName reports whether an app or stream name is safe: a restricted
// alphabet, no path separators, not "." and no ".." anywhere.
func validName(s string) bool {
	if s == "" || len(s) > 128 || s == "." || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-_.~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// RTMPSAddr and HTTPSAddr are the bound TLS addresses ("" when off).
func (s *Server) RTMPSAddr() string { return addrOf(s.rtmpsLn) }
func (s *Server) HTTPSAddr() string { return addrOf(s.httpsLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}
