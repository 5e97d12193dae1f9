// Access control: who may publish and play.
package main

// authRequest describes a publish or play attempt, decided before any
// media flows.
type authRequest struct {
	Action   string // "publish" or "play"
	Protocol string // "rtmp", "flv", "ws"
	App      string
	Name     string
	Query    string // the stream key's query, e.g. "sign=..."
	ClientIP string
	ID       string // session id
}

// authorize returns nil to allow r, or the reason to refuse it.
func (s *Server) authorize(r authRequest) error { return nil }

// AuthError is a refusal, with the HTTP status to answer (401 or 403).
type AuthError struct {
	Status int
	Reason string
}

func (e *AuthError) Error() string { return "not authorized: " + e.Reason }

// sessionDone is called when a publish or play that authorize allowed
// ends (the on_done hook).
func (s *Server) sessionDone(r authRequest) {}
