#!/bin/sh
# The second test pass: the system tests again, as an unprivileged user with subordinate ids.
# Run as root after scripts/setup.sh. It creates the user (default `ottertest`, or
# $OTTER_TEST_USER) with /etc/subuid and /etc/subgid ranges if missing, lets it open
# /dev/net/tun and /dev/fuse for the pass (an ACL entry, removed at the end: both devices are
# 0600 on this host), runs the system tests as that user (all of tests/system, or the pytest
# arguments given), then ends the user's processes by PID and removes what the pass left in
# /tmp (files owned by subordinate ids that the user cannot delete from outside its namespace).
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
USER_NAME=${OTTER_TEST_USER:-ottertest}

if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh "$USER_NAME"
fi
uid=$(id -u "$USER_NAME")
grep -q "^$USER_NAME:" /etc/subuid 2>/dev/null || usermod --add-subuids 400000-465535 "$USER_NAME"
grep -q "^$USER_NAME:" /etc/subgid 2>/dev/null || usermod --add-subgids 400000-465535 "$USER_NAME"

# The checkout must be readable by the user; otherwise test a copy.
SRC="$REPO"
if ! runuser -u "$USER_NAME" -- test -r "$REPO/otter/__init__.py" -a -x "$REPO/.venv/bin/python"; then
    SRC=$(mktemp -d /tmp/otter-rootless-src.XXXXXX)
    cp -a "$REPO/." "$SRC/"
    chmod -R a+rX "$SRC"
fi
BASETEMP=$(mktemp -d /tmp/otter-rootless-tests.XXXXXX)
chown "$USER_NAME" "$BASETEMP"
# A login session's runtime directory, as pam_systemd would make it (auth.json, pause.pid).
RUNTIME_DIR="$BASETEMP/xdg-runtime"
mkdir -m 700 "$RUNTIME_DIR"
chown "$USER_NAME" "$RUNTIME_DIR"
# Stands for root's store in the isolation tests: root-owned, mode 0700.
FOREIGN=$(mktemp -d /tmp/otter-rootless-foreign.XXXXXX)
chmod 700 "$FOREIGN"

# Rootless networking (slirp4netns) and fuse-overlayfs need these devices, as on a stock
# Debian host where they are 0666. Only the entry for this user is added, and removed at the
# end (with the mask entry setfacl adds, once no other named entry needs it).
GRANTED=""
for dev in /dev/net/tun /dev/fuse; do
    if [ -c "$dev" ] && ! runuser -u "$USER_NAME" -- test -r "$dev" -a -w "$dev"; then
        setfacl -m "u:$USER_NAME:rw" "$dev" && GRANTED="$GRANTED $dev"
    fi
done

cleanup() {
    for dev in $GRANTED; do
        setfacl -x "u:$USER_NAME" "$dev" || true
        if ! getfacl -c -p "$dev" 2>/dev/null | grep -q '^\(user\|group\):[^:]'; then
            setfacl -b "$dev" || true
        fi
    done
    # Every process of the dedicated test user is the pass's own: pause processes (one per
    # XDG_RUNTIME_DIR a test used), and conmon/containers a failed test left. End them by PID.
    for status in /proc/[0-9]*/status; do
        pid=${status#/proc/}; pid=${pid%/status}
        if awk -v u="$uid" '$1 == "Uid:" && $2 == u {found=1} END {exit !found}' "$status" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$BASETEMP" "$FOREIGN" "/tmp/otter-$uid"
    [ "$SRC" = "$REPO" ] || rm -rf "$SRC"
}
trap cleanup EXIT

[ $# -gt 0 ] || set -- "$SRC/tests/system"
cd "$BASETEMP"
runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="/home/$USER_NAME" \
    USER="$USER_NAME" LANG=C.UTF-8 XDG_RUNTIME_DIR="$RUNTIME_DIR" PYTHONPATH="$SRC" PYTHONDONTWRITEBYTECODE=1 OTTER_TEST_FOREIGN_DIR="$FOREIGN" \
    "$SRC/.venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$SRC" --basetemp "$BASETEMP/t" "$@"
