package main

import "github.com/spf13/cobra"

func newPolicyCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "policy",
		Short: "Validate policy documents and simulate decisions",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker policy", "4")
		},
	}
}
