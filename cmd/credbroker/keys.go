package main

import "github.com/spf13/cobra"

func newKeysCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "keys",
		Short: "Manage IAM users' long-term keys in the OS keyring (add, list, remove, rotate)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker keys", "8")
		},
	}
}
