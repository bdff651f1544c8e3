package main

import "github.com/spf13/cobra"

func newMFACmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "mfa ROLE",
		Short: "Start an MFA session for a role that needs one",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker mfa", "8")
		},
	}
}
