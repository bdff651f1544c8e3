package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/internal/buildinfo"
)

func newVersionCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, revision, Go version and platform",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), buildinfo.String())
			return err
		},
	}
}
