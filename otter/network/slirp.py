"""slirp4netns networking for one container: its namespace, its slirp4netns, its published ports.

Vocabulary:
  options   what `--network slirp4netns[:OPT=VALUE,...]` chose, a `SlirpOptions` kept in the
            container's config (`to_json` names the keys). Podman's option names and errors.
  setup     before the OCI runtime starts the container: pin a new network namespace on
            `StorePaths.netns`, start slirp4netns in it (`drivers.slirp4netns`), wait until
            tap0 is configured, forward each published port through its API socket. The
            container then joins the namespace by path. The caller keeps slirp4netns' exit
            fd with the container's monitor and records its pid in the runtime state.
  teardown  after the container ended or its start failed, once the caller has ended
            slirp4netns by pid: unpin and delete the namespace file, delete the API socket.
            Idempotent, and safe after a setup that got only partway.

Guest address 10.0.2.100, gateway 10.0.2.2, DNS forwarder 10.0.2.3 (mechanics §4.2).
"""

from __future__ import annotations

import os

from otter.drivers import slirp4netns
from otter.errors import InvalidArgument, OtterError, RuntimeFailure
from otter.network.ports import PortMapping
from otter.paths import StorePaths
from otter.record import record, replace

PORT_HANDLERS = ("slirp4netns", "rootlessport")


@record
class SlirpOptions:
    allow_host_loopback: bool = False    # the guest reaches the host's 127.0.0.1 at 10.0.2.2
    mtu: int = slirp4netns.DEFAULT_MTU
    enable_ipv6: bool = False
    port_handler: str = "slirp4netns"    # otter forwards through slirp4netns' API either way

    def to_json(self) -> dict:
        return {"allow_host_loopback": self.allow_host_loopback, "mtu": self.mtu, "enable_ipv6": self.enable_ipv6,
                "port_handler": self.port_handler}

    @classmethod
    def from_json(cls, doc: dict) -> "SlirpOptions":
        return cls(**{k: v for k, v in doc.items() if k in ("allow_host_loopback", "mtu", "enable_ipv6",
                                                              "port_handler")})


def parse_options(text: str) -> SlirpOptions:
    """The options after `slirp4netns:`, comma-separated `key=value` pairs."""
    opts = SlirpOptions()
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key in ("allow_host_loopback", "enable_ipv6"):
            if value not in ("true", "false"):
                raise InvalidArgument(f"invalid value of {key} for slirp4netns: \"{value}\"")
            opts = replace(opts, **{key: value == "true"})
        elif key == "mtu":
            if not value.isdigit() or not 0 < int(value) <= slirp4netns.MAX_MTU:
                raise InvalidArgument(f"invalid mtu \"{value}\"")
            opts = replace(opts, mtu=int(value))
        elif key == "port_handler":
            if value not in PORT_HANDLERS:
                raise InvalidArgument(f"unknown port_handler for slirp4netns: \"{value}\"")
            opts = replace(opts, port_handler=value)
        else:
            raise InvalidArgument(f"unknown option for slirp4netns: \"{item}\"")
    return opts


def check_ports(mappings: list[PortMapping]) -> None:
    """Refuse what slirp4netns cannot forward: it has no sctp."""
    for m in mappings:
        if m.protocol not in ("tcp", "udp"):
            raise InvalidArgument(f"slirp4netns cannot forward {m.protocol} ports: publish tcp or udp ports")


def setup(paths: StorePaths, cid: str, options: SlirpOptions, mappings: list[PortMapping]) -> slirp4netns.SlirpProcess:
    """Namespace, slirp4netns, forwards; on failure nothing is left running or mounted."""
    from otter.sys import netns
    netns_path = paths.netns(cid)
    netns.remove(netns_path)    # a stale file from a start that died half-way
    try:
        netns.create(netns_path)
    except OSError as e:
        raise RuntimeFailure(f"creating the network namespace of container {cid}: {e}") from None
    proc = None
    try:
        proc = slirp4netns.start(slirp4netns.SlirpRequest(
            netns_path=netns_path, api_socket=paths.slirp4netns_socket(cid), log_path=paths.slirp4netns_log(cid),
            mtu=options.mtu, allow_host_loopback=options.allow_host_loopback, enable_ipv6=options.enable_ipv6))
        for m in mappings:
            _forward(paths.slirp4netns_socket(cid), m)
    except BaseException as e:
        if proc is not None:
            _stop(proc)
        teardown(paths, cid)
        if isinstance(e, RuntimeFailure) and "/dev/net/tun" in str(e):
            raise RuntimeFailure(f"{e}: use --network none") from None
        raise
    return proc


def _forward(api_socket: str, m: PortMapping) -> None:
    host_addr = m.host_ip or "0.0.0.0"
    for ctr_port, host_port in m.pairs():
        try:
            slirp4netns.add_hostfwd(api_socket, m.protocol, host_addr, host_port, ctr_port)
        except OtterError as e:
            raise RuntimeFailure(f"cannot publish {host_addr}:{host_port}->{ctr_port}/{m.protocol} (is the host "
                                 f"port in use?): {e}") from None


def _stop(proc: slirp4netns.SlirpProcess) -> None:
    """End a slirp4netns this process started and reap it."""
    import _signal  # not signal: its IntEnum wrapper imports enum (2 ms)
    os.close(proc.exit_fd)
    try:
        os.kill(proc.pid, _signal.SIGKILL)
        os.waitpid(proc.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def teardown(paths: StorePaths, cid: str) -> None:
    from otter.sys import netns
    netns.remove(paths.netns(cid))
    try:
        os.unlink(paths.slirp4netns_socket(cid))
    except FileNotFoundError:
        pass


def resolv_conf(host_resolv: str = "/etc/resolv.conf") -> str:
    """The container's /etc/resolv.conf: slirp4netns' DNS forwarder first, then the host's
    nameservers that the container can reach (not the host's loopback ones), search and options."""
    lines = [f"nameserver {slirp4netns.DNS_ADDR}"]
    try:
        with open(host_resolv) as f:
            host = [line.split() for line in f]
    except OSError:
        host = []
    for words in host:
        if len(words) >= 2 and words[0] == "nameserver" and not words[1].startswith(("127.", "::1")):
            lines.append(f"nameserver {words[1]}")
        elif words and words[0] in ("search", "options"):
            lines.append(" ".join(words))
    return "\n".join(lines) + "\n"


def hosts_entries(options: SlirpOptions, hostname: str, name: str) -> str:
    """/etc/hosts lines naming the container (and the host, when its loopback is reachable)."""
    out = f"{slirp4netns.GUEST_ADDR}\t{hostname} {name}\n"
    if options.allow_host_loopback:
        out += f"{slirp4netns.GATEWAY_ADDR}\thost.containers.internal\n"
    return out
