"""The slirp4netns driver: user-mode networking for one network namespace, no privileges needed.

Vocabulary (mechanics §4.2, slirp4netns 1.2.0):
  tap device  `tap0`, which slirp4netns creates in the namespace and configures (`-c`): guest
              10.0.2.100/24, gateway 10.0.2.2 (the host, and with host loopback allowed the
              host's 127.0.0.1 too), DNS forwarder 10.0.2.3.
  exit fd     `-e FD`, the read end of a pipe: slirp4netns exits once every copy of the write
              end is closed. The caller hands the write end to whatever monitors the
              container, so slirp4netns cannot outlive it even when nobody cleans up.
  ready fd    `-r FD`: slirp4netns writes "1" there once the tap device is configured.
  API socket  `--api-socket PATH`: one JSON request per connection, answered after the client
              shuts down its sending side. `add_hostfwd` makes slirp4netns listen on a host
              address and port and forward what arrives to the guest.

slirp4netns binds its API socket relative to its working directory, the socket's directory:
a store path can exceed the 108 bytes a socket address holds.
"""

from __future__ import annotations

import os
import select
import subprocess

from otter import jsoncodec, log
from otter.drivers.runc import find_binary
from otter.errors import InvalidArgument, RuntimeFailure
from otter.record import record

GUEST_ADDR = "10.0.2.100"
GATEWAY_ADDR = "10.0.2.2"
DNS_ADDR = "10.0.2.3"
DEFAULT_MTU = 65520
MAX_MTU = 65521
TAP_DEVICE = "tap0"
READY_TIMEOUT_S = 30
# Log lines that are progress or echo the real error, not the error itself.
NOISE = ("WARNING:", "sent tapfd", "received tapfd", "child failed")
API_TIMEOUT_S = 10


@record
class SlirpRequest:
    netns_path: str             # joined by path (`--netns-type=path`)
    api_socket: str
    log_path: str               # slirp4netns' stdout and stderr
    mtu: int = DEFAULT_MTU
    allow_host_loopback: bool = False
    enable_ipv6: bool = False


@record
class SlirpProcess:
    pid: int
    exit_fd: int                # the write end of the exit pipe, owned by the caller


def binary() -> str:
    path = find_binary("slirp4netns")
    if path is None:
        raise InvalidArgument("slirp4netns not found: install the slirp4netns package")
    return path


def argv(req: SlirpRequest, exit_fd: int, ready_fd: int) -> list[str]:
    """Podman's invocation; `--api-socket` is relative to the socket's directory."""
    args = [binary()]
    if not req.allow_host_loopback:
        args.append("--disable-host-loopback")
    args += [f"--mtu={req.mtu}", "--enable-sandbox", "--enable-seccomp"]
    if req.enable_ipv6:
        args.append("--enable-ipv6")
    return args + ["-c", "-e", str(exit_fd), "-r", str(ready_fd), "--api-socket", os.path.basename(req.api_socket),
                   "--netns-type=path", req.netns_path, TAP_DEVICE]


def start(req: SlirpRequest) -> SlirpProcess:
    """Start slirp4netns for the namespace and return once its tap device is configured."""
    try:
        os.unlink(req.api_socket)
    except FileNotFoundError:
        pass
    exit_r, exit_w = os.pipe()
    ready_r, ready_w = os.pipe()
    try:
        cmd = argv(req, exit_r, ready_w)
        log.debug(f"running {' '.join(cmd)}")
        with open(req.log_path, "wb") as out:
            # A session of its own: a terminal's ^C is for the container, not its network.
            proc = subprocess.Popen(cmd, cwd=os.path.dirname(req.api_socket), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=out, pass_fds=(exit_r, ready_w), start_new_session=True)
    except BaseException:
        for fd in (exit_r, exit_w, ready_r, ready_w):
            os.close(fd)
        raise
    os.close(exit_r)
    os.close(ready_w)
    try:
        _wait_ready(proc, ready_r, req.log_path)
    except BaseException:
        os.close(exit_w)
        proc.kill()
        proc.wait()
        raise
    finally:
        os.close(ready_r)
    return SlirpProcess(proc.pid, exit_w)


def _wait_ready(proc: subprocess.Popen, ready_fd: int, log_path: str) -> None:
    ready, _, _ = select.select([ready_fd], [], [], READY_TIMEOUT_S)
    if not ready:
        raise RuntimeFailure(f"slirp4netns did not configure the network within {READY_TIMEOUT_S}s")
    if not os.read(ready_fd, 16):
        proc.wait()
        raise RuntimeFailure(f"slirp4netns failed: {_failure_message(log_path)}")


def _failure_message(log_path: str) -> str:
    """slirp4netns' own error lines from its log, on one line."""
    try:
        with open(log_path, errors="replace") as f:
            lines = [line.strip() for line in f]
    except FileNotFoundError:
        return "it exited without a message"
    errors = [line for line in lines if line and not line.startswith(NOISE)]
    return "; ".join(errors[-3:]) or "it exited without a message"


def _request(api_socket: str, doc: dict) -> dict:
    import socket

    from otter.sys import unixsock
    try:
        with unixsock.connect(api_socket, timeout=API_TIMEOUT_S) as sock:
            sock.sendall(jsoncodec.dumps(doc).encode())
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as e:
        raise RuntimeFailure(f"slirp4netns API socket {api_socket}: {e.strerror or e}") from None
    try:
        reply = jsoncodec.loads(b"".join(chunks) or b"{}")
    except ValueError:
        raise RuntimeFailure(f"slirp4netns: malformed API reply to {doc['execute']}") from None
    if "error" in reply:
        raise RuntimeFailure(f"slirp4netns: {(reply['error'] or {}).get('desc', 'request failed')}")
    return reply


def add_hostfwd(api_socket: str, proto: str, host_addr: str, host_port: int, guest_port: int) -> int:
    """Forward `host_addr:host_port` to the guest's `guest_port`; return the forward's id."""
    reply = _request(api_socket, {"execute": "add_hostfwd", "arguments": {
        "proto": proto, "host_addr": host_addr, "host_port": host_port, "guest_port": guest_port}})
    return int((reply.get("return") or {}).get("id", 0))

