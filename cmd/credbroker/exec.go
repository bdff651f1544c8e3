package main

import "github.com/spf13/cobra"

func newExecCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "exec ROLE -- COMMAND [ARG...]",
		Short: "Run one command with the credentials of ROLE",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker exec", "8")
		},
	}
}
