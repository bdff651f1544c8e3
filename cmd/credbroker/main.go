// Command credbroker hands short-lived AWS credentials to local processes so that no
// long-term key ever sits in a file or an application's environment.
//
// Run `credbroker --help` for the subcommands; README.md has the walkthrough.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/logging"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process exit code, so that tests can
// drive the whole binary in-process.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fatal(os.Stderr, ee.msg)
		}
		return ee.code
	}
	fatal(os.Stderr, err.Error())
	return 1
}

// fatal prints the message the process exits with; on the journal every line
// of it has the error priority, as the logger's errors do.
func fatal(f *os.File, msg string) {
	msg = "credbroker: " + msg
	if logging.OnJournal(f) {
		p := logging.JournalPrefix(hclog.Error)
		msg = p + strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n"+p)
	}
	fmt.Fprintln(f, msg)
}

// exitError ends the process with a chosen code (for example the child's exit code in
// `exec`) and an optional message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }
