"""Attaching to a conmon-supervised container through its attach socket.

conmon (`--full-attach`) listens on `<bundle>/attach`, a SOCK_SEQPACKET socket. Each message
from it is one stream byte (2 = stdout, 3 = stderr) followed by data; bytes we send go to
the container's stdin (when it was created with `-i`). The socket closes when the
container's output ends.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

from otter.core.container import Container
from otter.engine.context import Engine
from otter.errors import InvalidState

STDOUT, STDERR = 2, 3


def _connect(bundle: str) -> socket.socket:
    from otter.sys import unixsock
    return unixsock.connect(os.path.join(bundle, "attach"), socket.SOCK_SEQPACKET)


def _pump(sock: socket.socket, stdin: bool) -> None:
    inputs = [sock] + ([sys.stdin.fileno()] if stdin else [])
    outs = {STDOUT: sys.stdout.buffer.fileno(), STDERR: sys.stderr.buffer.fileno()}
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if sock in ready:
            msg = sock.recv(8193)
            if not msg:
                return
            fd = outs.get(msg[0])
            if fd is not None and len(msg) > 1:
                os.write(fd, msg[1:])
        for r in ready:
            if r is not sock:
                data = os.read(r, 8192)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    inputs.remove(r)
                else:
                    sock.sendall(data)


def _exit_code(eng: Engine, ctr: Container) -> int:
    from otter.engine.lifecycle import wait
    deadline = time.monotonic() + 10
    while not os.path.exists(eng.paths.exit_file(ctr.id)) and time.monotonic() < deadline:
        time.sleep(0.005)
    return wait(eng, ctr, interval=0.01)


def start_attached(eng: Engine, ctr: Container, stdin: bool) -> int:
    """`start -a`: start under conmon with our terminal attached; return the exit code."""
    from otter.engine.lifecycle import start_detached
    holder: list[socket.socket] = []
    start_detached(eng, ctr, before_start=lambda bundle: holder.append(_connect(bundle)))
    with holder[0] as sock:
        _pump(sock, stdin and ctr.config.interactive)
    return _exit_code(eng, ctr)


def attach(eng: Engine, ctr: Container, stdin: bool) -> int:
    from otter.engine.lifecycle import sync
    ctr = sync(eng, ctr)
    if not ctr.is_active or ctr.runtime.supervisor != "conmon":
        raise InvalidState(f"you can only attach to running containers started in the background: "
                           f"{ctr.name} is {ctr.state}")
    with _connect(eng.paths.bundle(ctr.id)) as sock:
        _pump(sock, stdin and ctr.config.interactive)
    return _exit_code(eng, ctr)
