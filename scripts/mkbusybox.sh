#!/bin/sh
# Make a busybox rootfs tar for `wharf import - busybox:latest` (and `docker import`).
# Needs Debian's busybox-static (/bin/busybox) and GNU tar; run as root (ownership).
# Deterministic: the same busybox binary gives byte-identical tars (fixed mtimes, sorted
# names, numeric owners), so the layer diffID is stable across runs and machines.
set -eu

out=${1:?usage: mkbusybox.sh OUT.tar}
busybox=${BUSYBOX:-/bin/busybox}
mtime=${SOURCE_DATE_EPOCH:-1704067200} # 2024-01-01T00:00:00Z

[ -x "$busybox" ] || { echo "mkbusybox: $busybox not found (apt-get install busybox-static)" >&2; exit 1; }
"$busybox" --list-full >/dev/null 2>&1 || { echo "mkbusybox: $busybox lacks --list-full" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "mkbusybox: must run as root (file ownership)" >&2; exit 1; }

umask 022
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM

mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/root" \
  "$root/home/wharf" "$root/var/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  case $applet in */*) dir=${applet%/*} ;; *) dir=. ;; esac
  [ -d "$root/$dir" ] || mkdir -p "$root/$dir"
  ln -s /bin/busybox "$root/$applet"
done

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
wharf:x:1000:1000:wharf test user:/home/wharf:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
wharf:x:1000:
wharfsup:x:2000:wharf
nogroup:x:65534:
GROUP
cat >"$root/etc/shadow" <<'SHADOW'
root:*:19723:0:99999:7:::
daemon:*:19723:0:99999:7:::
wharf:*:19723:0:99999:7:::
nobody:*:19723:0:99999:7:::
SHADOW
chmod 0644 "$root/etc/passwd" "$root/etc/group"
chmod 0640 "$root/etc/shadow"
: >"$root/etc/hostname"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"

chown -R 0:0 "$root"
chown 1000:1000 "$root/home/wharf"
chmod 0755 "$root"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"

tar --create --file="$out" --directory="$root" --format=gnu --sort=name --numeric-owner \
  --mtime="@$mtime" .
