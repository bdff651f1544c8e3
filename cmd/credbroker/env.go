package main

import "github.com/spf13/cobra"

func newEnvCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print export lines that point this shell's SDKs at the running broker",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker env", "8")
		},
	}
}
