#!/bin/sh
# credbroker preremove, for both package formats:
#   deb: prerm remove | upgrade NEW-VERSION | deconfigure | failed-upgrade
#   rpm: %preun 0 (erase) | 1+ (upgrade)
# On the final removal it stops and disables the units (as rpm's
# %systemd_preun does); an upgrade leaves them running.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac
[ -z "${DPKG_ROOT:-}" ] || exit 0

units="credbroker.service credbroker-imds.socket credbroker-container.socket credbroker-core.socket credbroker-link-local.service"
if [ -d /run/systemd/system ]; then
	# shellcheck disable=SC2086 # a list of unit names
	systemctl --no-reload disable --now $units >/dev/null 2>&1 || :
	systemctl --global disable credbroker.service >/dev/null 2>&1 || :
fi
exit 0
