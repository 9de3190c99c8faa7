#!/bin/sh
# Idempotent set-up for a fresh Debian 12 machine: the packages otter drives, a virtualenv
# with otter installed (on the system interpreter, not a version-manager shim), and the
# bundled busybox test image. Run as root (it installs apt packages).
set -eu
cd "$(dirname "$0")/.."

PACKAGES="runc conmon busybox-static skopeo docker-registry uidmap catatonit golang-github-containers-common python3-venv iptables apache2-utils podman zsh fish acl slirp4netns fuse-overlayfs"
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test,speed]' --config-settings editable_mode=compat
    touch .venv/.installed
fi
# The otter command. pip's console script starts Python with site.py, which reads the venv's
# .pth files and Debian's sitecustomize: 1.5 ms of every command. This launcher starts with -S
# and puts the two directories otter needs (the checkout, the venv's site-packages) on sys.path.
.venv/bin/python - <<'PYTHON'
import os, sysconfig
launcher = (f"#!{os.path.abspath('.venv/bin/python3')} -S\n"
            "import sys\n"
            f"sys.path[0:0] = [{os.getcwd()!r}, {sysconfig.get_paths()['purelib']!r}]\n"
            "from otter.cli.main import run\n"
            "run()\n")
path = ".venv/bin/otter"
if not os.path.exists(path) or open(path).read() != launcher:
    with open(path + ".new", "w") as f:
        f.write(launcher)
    os.chmod(path + ".new", 0o755)
    os.replace(path + ".new", path)
PYTHON

if [ ! -f build/busybox.tar ] || [ /bin/busybox -nt build/busybox.tar ] || [ tools/mkbusybox.py -nt build/busybox.tar ]; then
    .venv/bin/python tools/mkbusybox.py build
fi
