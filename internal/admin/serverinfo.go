package admin

import (
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/goforward/goforward/internal/access"
)

// serverInfo is GET /server's answer: what any admin may know of the node it talks to (the
// dashboard's home page shows it).
type serverInfo struct {
	Version         string    `json:"version"`
	Environment     string    `json:"environment"`
	Services        []string  `json:"services"`
	GoVersion       string    `json:"go_version"`
	PostgresVersion string    `json:"postgres_version"`
	StartedAt       time.Time `json:"started_at"`
}

// serverInfo is GET /server (any admin): versions, environment and the mounted services.
func (s *Service) serverInfo(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	var pg string
	if err := s.pool.QueryRow(r.Context(), `SELECT current_setting('server_version')`).Scan(&pg); err != nil {
		return internalError(fmt.Errorf("admin: server version: %w", err))
	}
	services := s.cfg.Services
	if services == nil {
		services = []string{}
	}
	return writeJSON(w, http.StatusOK, serverInfo{
		Version: s.cfg.Version, Environment: s.cfg.Environment, Services: services,
		GoVersion: runtime.Version(), PostgresVersion: pg, StartedAt: s.cfg.StartedAt,
	})
}

// settings is GET /settings (can_manage_system): the node's effective configuration with
// every secret redacted (config.Config.Redacted), keyed as in goforward.yaml.
func (s *Service) settings(w http.ResponseWriter, _ *http.Request, _ access.Principal) error {
	settings := s.cfg.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"environment": s.cfg.Environment, "config": settings})
}
