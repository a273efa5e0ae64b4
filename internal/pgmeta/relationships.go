package pgmeta

import (
	"net/http"

	"github.com/goforward/goforward/internal/access"
)

func (s *Service) relationships(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	return writeRaw(w, http.StatusOK, []byte("[]"))
}

func (s *Service) typescript(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	return writeRaw(w, http.StatusOK, []byte("[]"))
}
