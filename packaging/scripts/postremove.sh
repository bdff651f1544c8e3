#!/bin/sh
# credbroker postremove, for both package formats:
#   deb: postrm remove | purge | upgrade NEW-VERSION | abort-install | ...
#   rpm: %postun 0 (erase) | 1+ (upgrade)
# purge (deb) also deletes the embedded core's state in /var/lib/credbroker.
# The service user stays (files it owned may remain), and so does
# /etc/credstore.encrypted: its credentials are the admin's.
set -e

root="${DPKG_ROOT:-}"
case "$1" in
remove | purge | 0) ;;
*) exit 0 ;;
esac

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" = purge ]; then
	rm -rf "$root/var/lib/credbroker"
	rmdir "$root/etc/credbroker" 2>/dev/null || :
fi
exit 0
