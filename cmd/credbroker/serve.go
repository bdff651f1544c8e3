package main

import "github.com/spf13/cobra"

// serveFlags are the command-line contract of DESIGN.md for `credbroker serve`.
type serveFlags struct {
	config        string
	dev           bool
	imdsAddr      string
	containerAddr string
	coreAddr      string
	runtimeDir    string
}

func newServeCmd(_ *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the broker daemon (IMDS, container endpoint, optional IAM/STS core)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notYet("credbroker serve", "8")
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "HCL config file (default: none with --dev, else /etc/credbroker/credbroker.hcl)")
	fl.BoolVar(&f.dev, "dev", false, "run an in-memory IAM/STS core with a demo account; every local caller gets role dev-admin")
	fl.StringVar(&f.imdsAddr, "imds-addr", "", "IMDS listener HOST:PORT (port 0 picks a free port)")
	fl.StringVar(&f.containerAddr, "container-addr", "", "container credentials endpoint HOST:PORT")
	fl.StringVar(&f.coreAddr, "core-addr", "", "IAM/STS core listener HOST:PORT")
	fl.StringVar(&f.runtimeDir, "runtime-dir", "", "where bound addresses, the control socket and the token file go")
	return cmd
}
