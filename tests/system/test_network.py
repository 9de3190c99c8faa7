"""slirp4netns networking and published ports, on real slirp4netns, as root and rootless.

Traffic stays on this host: the container reaches a listener on 127.0.0.1 through the gateway
10.0.2.2 (only with `allow_host_loopback=true`), and the tests reach containers through ports
published on 127.0.0.1. Host ports are ephemeral ones, found by binding port 0. Every test
checks that no slirp4netns process, namespace mount or namespace file outlives its containers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from otter.sys.procfs import command_lines
from tests.conftest import ROOTLESS, mounts_under


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slirp_pids(engine) -> list[int]:
    """Live slirp4netns processes serving a namespace of this store (zombies have no cmdline)."""
    netns_dir = os.path.join(engine.runroot, "netns").encode()
    return [pid for pid, argv in command_lines()
            if argv[0].endswith(b"slirp4netns") and any(a.startswith(netns_dir) for a in argv)]


def assert_no_network_left(engine) -> None:
    assert slirp_pids(engine) == []
    assert mounts_under(os.path.join(engine.runroot, "netns")) == []
    netns_dir = os.path.join(engine.runroot, "netns")
    assert not os.path.isdir(netns_dir) or os.listdir(netns_dir) == []


@pytest.fixture
def net(bb):
    yield bb
    bb.run("rm", "-a", "-f", "-t", "0", expect=None)
    assert_no_network_left(bb)
    assert mounts_under(bb.root) == []


def fetch(port: int, timeout: float = 15) -> bytes:
    """What a server behind 127.0.0.1:port sends. Until the container's server listens,
    slirp4netns accepts on the host side and closes at once: retry until data arrives."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                data = s.recv(1024)
                if data:
                    return data
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came from 127.0.0.1:{port}")
        time.sleep(0.1)


def inspect(engine, name: str, template: str) -> str:
    return engine.run("inspect", "--format", template, name).out.strip()


def test_slirp4netns_configures_the_guest(net):
    out = net.run("run", "--rm", "--network", "slirp4netns", "busybox", "sh", "-c",
                  "ip -4 addr show tap0; ip route; cat /etc/resolv.conf /etc/hosts").out
    assert "inet 10.0.2.100/24" in out
    assert "default via 10.0.2.2 dev tap0" in out
    assert out.count("nameserver 10.0.2.3") == 1 and "nameserver 10.0.2.3" in out.splitlines()
    assert "10.0.2.100\t" in out
    assert_no_network_left(net)


def test_default_network(net):
    net.run("create", "--name", "c", "busybox", "true")
    mode = inspect(net, "c", "{{.HostConfig.NetworkMode}}")
    links = net.run("run", "--rm", "busybox", "ip", "-o", "link").out
    if ROOTLESS:
        assert mode == "slirp4netns" and "tap0" in links
    else:
        assert mode == "private" and "tap0" not in links and "lo:" in links


def test_host_loopback_only_when_allowed(net):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]

        def answer():
            try:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"pong\n")
            except OSError:
                pass

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        out = net.run("run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", "busybox",
                      "nc", "-w", "5", "10.0.2.2", str(port)).out
        assert out == "pong\n"
        thread.join(5)
        refused = net.run("run", "--rm", "--network", "slirp4netns", "busybox", "nc", "-w", "3", "10.0.2.2",
                          str(port), expect=None)
        assert refused.returncode != 0 and refused.out == ""
    assert_no_network_left(net)


def test_publish_detached(net):
    port = free_port()
    net.run("run", "-d", "--name", "web", "--network", "slirp4netns", "-p", f"127.0.0.1:{port}:80", "busybox",
            "sh", "-c", "while true; do echo hello | nc -l -p 80; done")
    assert fetch(port) == b"hello\n"
    assert net.run("port", "web").out == f"80/tcp -> 127.0.0.1:{port}\n"
    assert net.run("port", "web", "80").out == f"127.0.0.1:{port}\n"
    assert net.run("port", "web", "81", expect=125).err.startswith("Error: failed to find published port")
    cid = net.run("inspect", "--format", "{{.Id}}", "web").out.strip()
    assert net.run("port", "-a").out == f"{cid[:12]}\t80/tcp -> 127.0.0.1:{port}\n"
    assert net.run("ps", "--format", "{{.Ports}}").out == f"127.0.0.1:{port}->80/tcp\n"
    assert f"127.0.0.1:{port}->80/tcp" in net.run("ps").out
    ps_json = json.loads(net.run("ps", "--format", "json").out)
    assert ps_json[0]["Ports"] == [{"host_ip": "127.0.0.1", "container_port": 80, "host_port": port, "range": 1,
                                   "protocol": "tcp"}]
    doc = json.loads(net.run("inspect", "web").out)[0]
    binding = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert doc["NetworkSettings"]["Ports"] == binding
    assert doc["HostConfig"]["PortBindings"] == binding
    assert doc["HostConfig"]["NetworkMode"] == "slirp4netns"
    netns = doc["NetworkSettings"]["SandboxKey"]
    assert netns == os.path.join(net.runroot, "netns", cid)
    assert mounts_under(netns) == [netns]
    pids = slirp_pids(net)
    assert len(pids) == 1
    net.run("rm", "-f", "web")
    assert_no_network_left(net)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_publish_foreground_run(net):
    port = free_port()
    proc = subprocess.Popen(net.base + ["run", "--rm", "-p", f"127.0.0.1:{port}:80", "--network", "slirp4netns",
                                        "busybox", "sh", "-c", "echo fg | nc -l -p 80"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        assert fetch(port) == b"fg\n"
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert net.run("ps", "-a", "-q").out == ""
    assert_no_network_left(net)


def test_publish_range_and_random_host_port(net):
    first = free_port()
    while True:
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", first))
                b.bind(("127.0.0.1", first + 1))
                break
            except OSError:
                first = free_port()
    net.run("create", "--name", "r", "--network", "slirp4netns", "-p", f"127.0.0.1:{first}-{first + 1}:80-81",
            "-p", "127.0.0.1::90/udp", "busybox", "true")
    lines = net.run("port", "r").out
    assert lines == ""      # as in Podman, a container that is not running lists no ports
    bindings = json.loads(inspect(net, "r", "{{json .HostConfig.PortBindings}}"))
    assert bindings["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(first)}]
    assert bindings["81/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(first + 1)}]
    random_port = int(bindings["90/udp"][0]["HostPort"])
    assert 0 < random_port < 65536
    assert net.run("ps", "-a", "--format", "{{.Ports}}").out == (
        f"127.0.0.1:{first}-{first + 1}->80-81/tcp, 127.0.0.1:{random_port}->90/udp\n")


def test_stop_and_start_again(net):
    port = free_port()
    net.run("run", "-d", "--name", "s", "--network", "slirp4netns", "-p", f"127.0.0.1:{port}:80", "busybox",
            "sh", "-c", "while true; do echo up | nc -l -p 80; done")
    assert fetch(port) == b"up\n"
    net.run("stop", "-t", "0", "s")
    assert_no_network_left(net)
    net.run("start", "s")
    assert fetch(port) == b"up\n"
    assert len(slirp_pids(net)) == 1


def test_dead_monitor_is_reconciled(net):
    port = free_port()
    net.run("run", "-d", "--name", "d", "--network", "slirp4netns", "-p", f"127.0.0.1:{port}:80", "busybox",
            "sleep", "1000")
    conmon = int(inspect(net, "d", "{{.State.ConmonPid}}"))
    pid = int(inspect(net, "d", "{{.State.Pid}}"))
    os.kill(conmon, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert inspect(net, "d", "{{.State.Status}}") == "exited"
    assert_no_network_left(net)


def test_killed_foreground_run_is_reconciled(net):
    proc = subprocess.Popen(net.base + ["run", "--name", "fg", "--network", "slirp4netns", "busybox", "sleep", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    deadline = time.monotonic() + 30
    while not slirp_pids(net) or net.run("ps", "-q").out == "":
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert inspect(net, "fg", "{{.State.Status}}") == "exited"
    assert_no_network_left(net)


BAD_PUBLISH = [
    (["-p", "abc"], 'parsing container port: invalid port number: strconv.Atoi: parsing "abc": invalid syntax'),
    (["-p", "70000:80"], "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 70000"),
    (["-p", "80:70000"], "parsing container port: port numbers must be between 1 and 65535 (inclusive), got 70000"),
    (["-p", "1.2.3:80:80"], 'cannot parse "1.2.3" as an IP address'),
    (["-p", "8080:80/sctpx"], 'unrecognized protocol "sctpx" in port mapping'),
    (["-p", "8000-8002:80-81"], "host and container port ranges have different lengths: 3 vs 2"),
    (["--network", "none", "-p", "8080:80"], "--network none"),
    (["--network", "host", "-p", "8080:80"], "--network host"),
    (["--network", "slirp4netns:allow_host_loopback=maybe"],
     'invalid value of allow_host_loopback for slirp4netns: "maybe"'),
    (["--network", "slirp4netns:bogus=1"], 'unknown option for slirp4netns: "bogus=1"'),
    (["--network", "slirp4netns:mtu=abc"], 'invalid mtu "abc"'),
    (["--network", "slirp4netns:port_handler=foo"], 'unknown port_handler for slirp4netns: "foo"'),
    (["--network", "slirpx"], "slirpx"),
]


@pytest.mark.parametrize("flags,message", BAD_PUBLISH, ids=[" ".join(f) for f, _ in BAD_PUBLISH])
def test_bad_values_leave_nothing(net, flags, message):
    for verb in ("create", "run"):
        proc = net.run(verb, *flags, "busybox", "true", expect=125)
        assert proc.err.startswith("Error: ") and proc.err.count("\n") == 1, proc.err
        assert message in proc.err
    assert net.run("ps", "-a", "-q").out == ""


def test_publish_needs_a_network_that_can_forward(net):
    if ROOTLESS:
        port = free_port()
        net.run("run", "-d", "--name", "p", "-p", f"127.0.0.1:{port}:80", "busybox",
                "sh", "-c", "while true; do echo dflt | nc -l -p 80; done")
        assert fetch(port) == b"dflt\n"
    else:
        proc = net.run("run", "--rm", "-p", "8080:80", "busybox", "true", expect=125)
        assert proc.err.count("\n") == 1 and "--network slirp4netns" in proc.err
        assert net.run("ps", "-a", "-q").out == ""


def test_port_in_use_fails_the_start_cleanly(net):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = net.run("run", "--rm", "--network", "slirp4netns", "-p", f"127.0.0.1:{port}:80", "busybox", "true",
                       expect=125)
        assert proc.err.count("\n") == 1 and f"127.0.0.1:{port}" in proc.err
    assert net.run("ps", "-a", "-q").out == ""
    assert_no_network_left(net)


@pytest.mark.skipif(not ROOTLESS, reason="root can always open /dev/net/tun")
def test_tun_unavailable_is_explained(bb, tmp_path, monkeypatch):
    """A user who cannot open /dev/net/tun, simulated without touching the host: in a pause
    namespace of the test's own (its own XDG_RUNTIME_DIR), a tmpfs hides /dev/net."""
    runtime_dir = tmp_path / "xdg"
    runtime_dir.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))
    from otter.engine.userns import pause_pid_file
    try:
        bb.run("create", "--name", "early", "busybox", "true")
        bb.run("unshare", "mount", "-t", "tmpfs", "tmpfs", "/dev/net")
        # Created while the device was there: slirp4netns itself fails, and the start is undone.
        proc = bb.run("start", "early", expect=125)
        assert proc.err.count("\n") == 1 and "/dev/net/tun" in proc.err and "--network none" in proc.err, proc.err
        assert_no_network_left(bb)
        bb.run("rm", "early")
        for flags in ([], ["--network", "slirp4netns"], ["-p", "8080:80"]):
            proc = bb.run("run", "--rm", *flags, "busybox", "true", expect=125)
            assert proc.err.startswith("Error: ") and proc.err.count("\n") == 1
            assert "/dev/net/tun" in proc.err and "--network none" in proc.err
            assert bb.run("ps", "-a", "-q").out == ""
        assert bb.run("run", "--rm", "--network", "none", "busybox", "echo", "ok").out == "ok\n"
        assert_no_network_left(bb)
    finally:
        with open(pause_pid_file(os.getuid())) as f:
            os.kill(int(f.read()), signal.SIGKILL)


def _env() -> dict[str, str]:
    from tests.conftest import _env as env
    return env()
