// Access control: who may publish and play, decided before any media flows.
//
// Two mechanisms, each optional, checked in this order:
//
//   - Signed URLs, compatible with Node-Media-Server 2.x-4.x so that
//     existing signers keep working. A stream key (RTMP) or URL (HTTP/WS)
//     carries ?sign=<exp>-<hash> where exp is a Unix time in seconds and
//     hash = md5hex("/app/name-<exp>-<secret>"). It is refused once exp is
//     past (exp == now is still valid, as in NMS). Switched on separately for
//     publishers (-auth-publish) and players (-auth-play).
//   - HTTP hooks, as nginx-rtmp's on_publish / on_play / on_done and SRS's
//     http_hooks: the server POSTs a JSON description of the attempt
//     (hookEvent) to -on-publish / -on-play; a 2xx answer allows, anything
//     else (other status, refused connection, -hook-timeout) denies.
//     -on-done is told, asynchronously, when an allowed publish or play
//     ends; its answer is ignored.
//
// Callers (session.go onPublish/onPlay, httpflv.go serveFLVPlayer) ask
// before the publisher is attached to the stream or the player gets its
// first byte, and turn a refusal into NetStream.Publish.Unauthorized,
// NetStream.Play.Failed, or HTTP 401/403.
//
// The sign is a bearer credential: it is never logged, and hooks receive
// the query with its value replaced by "REDACTED" (see redactSign).
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// authRequest describes a publish or play attempt, decided before any
// media flows.
type authRequest struct {
	Action   string // "publish" or "play"
	Protocol string // "rtmp", "flv", "ws"
	App      string
	Name     string
	Query    string // the stream key's query, e.g. "sign=..."
	ClientIP string
	ID       string // session id (HTTP/WS players get theirs before their session starts)
}

// Sentinel reasons of a refusal, wrapped in *AuthError.
var (
	ErrSignMissing = errors.New("no sign parameter")
	ErrSignInvalid = errors.New("malformed or wrong sign")
	ErrSignExpired = errors.New("sign expired")
	ErrNoSecret    = errors.New("signed URLs required but no -auth-secret configured")
	ErrHookDenied  = errors.New("denied by hook")
)

// AuthError is a refusal, with the HTTP status to answer (401 or 403).
type AuthError struct {
	Status int
	Reason string
	Err    error // one of the sentinels above
}

func (e *AuthError) Error() string { return "not authorized: " + e.Reason }
func (e *AuthError) Unwrap() error { return e.Err }

// authorizer decides publishes and plays (signed URLs, then hooks) and
// tells the on_done hook when they end. Hooks go through an HTTP client
// without keep-alives (hooks are rare; no idle connection goroutines
// linger); on_done notifications wait in a queue with one worker.
type authorizer struct {
	cfg *Config
	log *slog.Logger

	once   sync.Once
	client *http.Client

	mu      sync.Mutex
	queue   []authRequest
	running bool
	idle    chan struct{} // closed when the running worker ends
	dropped int           // notifications dropped since the worker last took one
}

func newAuthorizer(cfg *Config, log *slog.Logger) *authorizer {
	return &authorizer{cfg: cfg, log: log}
}

// authorize returns nil to allow r, or the *AuthError that refuses it.
func (a *authorizer) authorize(r authRequest) error {
	if a.signRequired(r.Action) {
		err := checkSign(streamPath(r.App, r.Name), r.Query, a.cfg.AuthSecret, time.Now())
		if err != nil {
			return signRefusal(err)
		}
	}
	if hook := a.hookURL(r.Action); hook != "" {
		if err := a.callHook(hook, r, r.Action); err != nil {
			return &AuthError{Status: http.StatusForbidden, Reason: err.Error(), Err: ErrHookDenied}
		}
	}
	return nil
}

func (a *authorizer) signRequired(action string) bool {
	return action == "publish" && a.cfg.AuthPublish || action == "play" && a.cfg.AuthPlay
}

func (a *authorizer) hookURL(action string) string {
	switch action {
	case "publish":
		return a.cfg.OnPublish
	case "play":
		return a.cfg.OnPlay
	}
	return ""
}

// signRefusal maps a checkSign error to its HTTP status: 401 when no
// credential came at all, 403 when it is wrong, expired, or cannot be
// checked.
func signRefusal(err error) *AuthError {
	status := http.StatusForbidden
	if errors.Is(err, ErrSignMissing) {
		status = http.StatusUnauthorized
	}
	return &AuthError{Status: status, Reason: err.Error(), Err: err}
}

// checkSign verifies the NMS signed-URL parameter of query for path
// ("/app/name") at time now.
func checkSign(path, query, secret string, now time.Time) error {
	if secret == "" {
		return ErrNoSecret
	}
	sign := signParam(query)
	if sign == "" {
		return ErrSignMissing
	}
	// sign: "<exp>-<hash>", exp decimal Unix seconds, hash 32 hex digits
	expStr, hash, ok := strings.Cut(sign, "-")
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if !ok || err != nil || exp < 0 || !allDigits(expStr) {
		return ErrSignInvalid
	}
	if exp < now.Unix() {
		return ErrSignExpired
	}
	want := signHash(path, exp, secret)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(hash)), []byte(want)) != 1 {
		return ErrSignInvalid
	}
	return nil
}

// signHash is NMS's hash: md5 hex of "/app/name-<exp>-<secret>", exp
// written in canonical decimal (NMS parses it to a number first).
func signHash(path string, exp int64, secret string) string {
	sum := md5.Sum([]byte(path + "-" + strconv.FormatInt(exp, 10) + "-" + secret))
	return hex.EncodeToString(sum[:])
}

// SignURL returns the "sign=..." value valid for path until exp, as NMS's
// signers compute it.
func SignURL(path string, exp int64, secret string) string {
	return strconv.FormatInt(exp, 10) + "-" + signHash(path, exp, secret)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// signParam returns the first "sign" value of a URL query ("" if none).
// A malformed query still yields the parameters before the bad one, as
// url.ParseQuery does.
func signParam(query string) string {
	v, _ := queryValue(query, "sign")
	return v
}

// redactSign replaces the value of every "sign" parameter with REDACTED,
// keeping everything else of the query byte for byte.
func redactSign(query string) string {
	if query == "" {
		return query
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		key, _, _ := strings.Cut(p, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == "sign" || key == "sign" {
			parts[i] = key + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

// hookEvent is the JSON body POSTed to a hook. Action is "publish",
// "play", "publish_done" or "play_done".
type hookEvent struct {
	Action   string `json:"action"`
	App      string `json:"app"`
	Name     string `json:"name"`
	Stream   string `json:"stream"` // "/app/name"
	Query    string `json:"query"`  // with the sign redacted
	IP       string `json:"ip"`
	Protocol string `json:"protocol"`
	ID       string `json:"id"`
}

func newHookEvent(r authRequest, action string) hookEvent {
	return hookEvent{Action: action, App: r.App, Name: r.Name, Stream: streamPath(r.App, r.Name),
		Query: redactSign(r.Query), IP: r.ClientIP, Protocol: r.Protocol, ID: r.ID}
}

// maxHookReply bounds what is read of a hook's answer (only its status
// counts; the body is drained so the exchange ends cleanly).
const maxHookReply = 4 << 10

// callHook POSTs the event to url and returns nil for a 2xx answer.
// Redirects are not followed: a 3xx denies.
func (a *authorizer) callHook(url string, r authRequest, action string) error {
	body, err := json.Marshal(newHookEvent(r, action))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.HookTimeout.Duration)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("hook %s: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("hook %s: %w", action, errors.Unwrap(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxHookReply))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("hook %s answered %s", action, resp.Status)
	}
	return nil
}

// maxDoneQueue bounds the on_done notifications waiting to be sent; past
// it new ones are dropped (and logged): the media path never waits.
const maxDoneQueue = 1024

func (a *authorizer) httpClient() *http.Client {
	a.once.Do(func() {
		a.client = &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	})
	return a.client
}

// done is called when a publish or play that authorize allowed ends (the
// on_done hook). It only queues the notification.
func (a *authorizer) done(r authRequest) {
	if a.cfg.OnDone == "" || r.Action == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) >= maxDoneQueue {
		if a.dropped++; a.dropped == 1 { // once per episode, not per drop
			a.log.Warn("on_done hook: queue full, notifications dropped", "stream", streamPath(r.App, r.Name))
		}
		return
	}
	a.queue = append(a.queue, r)
	if !a.running {
		a.running, a.idle = true, make(chan struct{})
		go a.sendDone(a.idle)
	}
}

// flush waits until every queued on_done notification is sent (or
// failed), for a graceful shutdown; it gives up when ctx ends.
func (a *authorizer) flush(ctx context.Context) error {
	for {
		a.mu.Lock()
		running, idle := a.running, a.idle
		a.mu.Unlock()
		if !running {
			return nil
		}
		select {
		case <-idle: // a new worker may have started since: look again
		case <-ctx.Done():
			return fmt.Errorf("on_done hooks not all sent: %w", ctx.Err())
		}
	}
}

// sendDone is the on_done worker: it sends queued notifications one at a
// time and ends when the queue is empty (closing idle).
func (a *authorizer) sendDone(idle chan struct{}) {
	defer close(idle)
	for {
		a.mu.Lock()
		if len(a.queue) == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		r := a.queue[0]
		a.queue = a.queue[1:]
		dropped := a.dropped
		a.dropped = 0
		a.mu.Unlock()
		if dropped > 0 {
			a.log.Warn("on_done hook: notifications were dropped", "count", dropped)
		}
		if err := a.callHook(a.cfg.OnDone, r, r.Action+"_done"); err != nil {
			a.log.Info("on_done hook", "stream", streamPath(r.App, r.Name), "err", err)
		}
	}
}
