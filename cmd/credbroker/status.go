package main

import "github.com/spf13/cobra"

func newStatusCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show roles, sessions, expiries and upstream health",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker status", "8")
		},
	}
}
