package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Error is a configuration that cannot be used: every problem found, each
// with its place in the file and what to do about it.
type Error struct {
	Diags hcl.Diagnostics
}

// Error renders one problem per line: "FILE:LINE:COL: SUMMARY: DETAIL".
func (e *Error) Error() string {
	var b strings.Builder
	n := 0
	for _, d := range e.Diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		n++
		b.WriteString(FormatDiagnostic(d))
	}
	return b.String()
}

// FormatDiagnostic renders d as "FILE:LINE:COL: SUMMARY: DETAIL" (warnings
// too, for logs).
func FormatDiagnostic(d *hcl.Diagnostic) string {
	var b strings.Builder
	if d.Subject != nil {
		name := d.Subject.Filename
		if name == "" {
			name = "<config>"
		}
		fmt.Fprintf(&b, "%s:%d:%d: ", name, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}
