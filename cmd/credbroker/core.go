package main

import "github.com/spf13/cobra"

func newCoreCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "core",
		Short: "Manage the embedded IAM/STS core (init, import, export)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker core", "6")
		},
	}
}
