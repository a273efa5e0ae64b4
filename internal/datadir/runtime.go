package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Runtime describes a running server. The server writes it once it serves HTTP and removes it
// on a clean stop; `goforward status` reads it.
type Runtime struct {
	PID    int    `json:"pid"`
	APIURL string `json:"api_url"`
	// LocalURL reaches the listener from this host (http://127.0.0.1:8080); `status` probes it,
	// since APIURL may be a proxy's public address that this host cannot or should not use.
	LocalURL       string    `json:"local_url"`
	DBURL          string    `json:"db_url"`
	ManagedCluster bool      `json:"managed_cluster"`
	Services       []string  `json:"services"`
	StartedAt      time.Time `json:"started_at"`
	AnonKey        string    `json:"anon_key"`
	ServiceRoleKey string    `json:"service_role_key"`
	// JWTSecretSet tells that the JWT secret came from the configuration rather than from
	// state.json; it is then not written to disk by Go Forward.
	JWTSecretSet bool `json:"jwt_secret_set"`
}

// ErrNotRunning means no server runs on this data directory.
var ErrNotRunning = errors.New("no goforward server is running on this data directory")

// WriteRuntime records a running server.
func (d Dir) WriteRuntime(rt Runtime) error {
	if err := writeJSONFile(d.runtimePath(), rt); err != nil {
		return fmt.Errorf("write runtime record: %w", err)
	}
	return nil
}

// RemoveRuntime deletes the runtime record if it still names pid (a newer server on the same
// directory keeps its own record).
func (d Dir) RemoveRuntime(pid int) error {
	var rt Runtime
	if err := readJSONFile(d.runtimePath(), &rt); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if rt.PID != pid {
		return nil
	}
	return os.Remove(d.runtimePath())
}

// ReadRuntime returns the record of the server running on this directory, or ErrNotRunning
// when there is none or the process that wrote it is gone (a crash leaves a stale record).
func (d Dir) ReadRuntime() (Runtime, error) {
	var rt Runtime
	if err := readJSONFile(d.runtimePath(), &rt); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Runtime{}, ErrNotRunning
		}
		return Runtime{}, err
	}
	if !processAlive(rt.PID) {
		return Runtime{}, ErrNotRunning
	}
	return rt, nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
