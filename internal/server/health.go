package server

import (
	"context"
	"net/http"
	"time"

	"github.com/pairgate/pairgate/internal/httpx"
)

// healthz says the process is alive. It does not touch the store, so that
// an orchestrator does not restart replicas while the database is away.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this replica can serve: its store answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.store.Ping(ctx); err != nil {
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store unreachable"})
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
