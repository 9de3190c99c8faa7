#!/bin/sh
# The second test pass: the system tests again, as an unprivileged user with subordinate ids.
# Run as root after scripts/setup.sh. It creates the user `ottertest` (with /etc/subuid and
# /etc/subgid ranges) if missing, runs tests/system as that user, then ends the user's pause
# process by its PID and removes what the pass left in /tmp (files owned by subordinate ids
# that the user cannot delete from outside its namespace).
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
USER_NAME=ottertest

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

cleanup() {
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

cd "$BASETEMP"
runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="/home/$USER_NAME" \
    USER="$USER_NAME" LANG=C.UTF-8 XDG_RUNTIME_DIR="$RUNTIME_DIR" PYTHONPATH="$SRC" PYTHONDONTWRITEBYTECODE=1 OTTER_TEST_FOREIGN_DIR="$FOREIGN" \
    "$SRC/.venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$SRC" --basetemp "$BASETEMP/t" "$SRC/tests/system"
