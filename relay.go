// Relays: push to other servers, edge pull from an origin; and recording.
package main

// addPlayer attaches a player of any protocol to app/name.
func (s *Server) addPlayer(app, name string, p *player) *Stream {
	return s.hub.addPlayer(app, name, p)
}

// publishStarted is called when a publication starts (recording and push
// relays attach here).
func (s *Server) publishStarted(st *Stream, ring *gopRing) {}
