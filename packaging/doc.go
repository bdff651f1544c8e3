// Package packaging holds no Go code of the product: it is the folder of
// credbroker's systemd units (systemd/), sysusers.d and tmpfiles.d files,
// the default config (credbroker.hcl), example configs and drop-ins, the
// nfpm recipe (nfpm.yaml) and maintainer scripts (scripts/) that
// `make package` turns into a .deb and an .rpm. README.md tells users how to
// install and run it.
//
// Its tests check what ships: `systemd-analyze verify` of every unit and
// example drop-in, the system service's `systemd-analyze security` exposure
// (at most 2.0), the socket units against the config's default addresses,
// the link-local unit's commands in a private network namespace, the shipped
// configs against the config parser, and the packages themselves: the .deb
// installed into a scratch root with dpkg, the .rpm's file list, and the
// installed completions and man pages against the installed binary's --help.
package packaging
