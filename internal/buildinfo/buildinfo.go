// Package buildinfo holds what the binary knows about its own build.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at link time (-ldflags "-X ...buildinfo.Version=v1.2.3"); a plain
// `go build` reports the module version or "devel".
var Version = ""

// String returns one line: version, VCS revision when known, Go version and platform.
func String() string {
	v, rev := Version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if rev != "" {
		v += " (" + rev + ")"
	}
	return fmt.Sprintf("credbroker %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
