package main

import "github.com/spf13/cobra"

func newCredentialProcessCmd(_ *app) *cobra.Command {
	return &cobra.Command{
		Use:   "credential-process ROLE",
		Short: "Print the JSON that credential_process in ~/.aws/config expects",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker credential-process", "8")
		},
	}
}
