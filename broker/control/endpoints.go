package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/credbroker/credbroker/imds"
)

// Names of the files in the runtime directory.
const (
	EndpointsFile = "endpoints.json"
	TokenFile     = "container.token"
	SocketFile    = "control.sock"
)

// Endpoints is what a running daemon writes to its runtime directory
// (endpoints.json, mode 0644: no secret) for `credbroker env` and `exec`:
// the addresses it actually listens on (port 0 resolved).
type Endpoints struct {
	// IMDS, Container, Core and Metrics are HOST:PORT, "" when off.
	IMDS      string `json:"imds,omitempty"`
	Container string `json:"container,omitempty"`
	// ContainerPath is the container endpoint's path.
	ContainerPath string `json:"container_path,omitempty"`
	Core          string `json:"core,omitempty"`
	// CoreTLS: the core's listener speaks TLS (https).
	CoreTLS bool   `json:"core_tls,omitempty"`
	Metrics string `json:"metrics,omitempty"`
	// ControlSocket and TokenFile are absolute paths.
	ControlSocket string `json:"control_socket"`
	TokenFile     string `json:"token_file,omitempty"`
	Region        string `json:"region"`
	PID           int    `json:"pid"`
}

// IMDSURL is the value of AWS_EC2_METADATA_SERVICE_ENDPOINT.
func (e Endpoints) IMDSURL() string {
	if e.IMDS == "" {
		return ""
	}
	return "http://" + e.IMDS + "/"
}

// ContainerURL is the value of AWS_CONTAINER_CREDENTIALS_FULL_URI.
func (e Endpoints) ContainerURL() string {
	if e.Container == "" {
		return ""
	}
	p := e.ContainerPath
	if p == "" {
		p = imds.DefaultContainerPath
	}
	return "http://" + e.Container + p
}

// CoreURL is the value of AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM.
func (e Endpoints) CoreURL() string {
	if e.Core == "" {
		return ""
	}
	if e.CoreTLS {
		return "https://" + e.Core
	}
	return "http://" + e.Core
}

// WriteEndpoints writes e to dir/endpoints.json atomically.
func WriteEndpoints(dir string, e Endpoints) error {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+EndpointsFile+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, EndpointsFile), err)
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, EndpointsFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, EndpointsFile), err)
	}
	return nil
}

// ReadEndpoints reads dir/endpoints.json. When there is none, the error
// wraps ErrNoDaemon and says how to start one.
func ReadEndpoints(dir string) (Endpoints, error) {
	p := filepath.Join(dir, EndpointsFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Endpoints{}, fmt.Errorf("%w (no %s): start one with `credbroker serve` (or `credbroker serve --dev`), or name its runtime directory with --runtime-dir or $CREDBROKER_RUNTIME_DIR", ErrNoDaemon, p)
	}
	if err != nil {
		return Endpoints{}, err
	}
	var e Endpoints
	if err := json.Unmarshal(data, &e); err != nil {
		return Endpoints{}, fmt.Errorf("%s is not the daemon's endpoints file: %w", p, err)
	}
	return e, nil
}

// RemoveEndpoints removes dir/endpoints.json (the daemon is stopping).
func RemoveEndpoints(dir string) error {
	err := os.Remove(filepath.Join(dir, EndpointsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
