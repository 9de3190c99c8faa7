"""Published ports: `-p/--publish` values, the mappings made from them, and how they are shown.

Vocabulary:
  port mapping  host address and port(s) forwarded to container port(s) of one protocol: a
                `PortMapping`. A container's config stores its mappings in Podman's wire
                form (`PortMapping.to_json`: host_ip, container_port, host_port, range,
                protocol), which is also what `ps --format json` shows.
  range         how many consecutive ports a mapping covers: `8000-8001:80-81` is one mapping
                with range 2.
  host ip       the host address the mapping listens on. "" means every address; it is shown
                as 0.0.0.0, and like Podman an explicit `0.0.0.0` is stored as "".
  host port 0   "pick a free one": `-p 80` and `-p 127.0.0.1::80` leave the host port open;
                `assign_host_ports` chooses it when the container is created, so that
                `port` and `inspect` show it from then on.

`-p` follows Podman's syntax, `[[ip:][hostPort]:]containerPort[/protocol]` with `[ipv6]` in
brackets and `start-end` ranges, and its error messages; as in Podman one flag value may hold
several mappings separated by commas.
"""

from __future__ import annotations

from collections.abc import Iterable

from otter.errors import InvalidArgument
from otter.record import record

PROTOCOLS = ("tcp", "udp", "sctp")
FREE_PORT_ATTEMPTS = 20


@record
class PortMapping:
    container_port: int
    host_port: int = 0
    host_ip: str = ""
    range: int = 1
    protocol: str = "tcp"

    def to_json(self) -> dict:
        return {"host_ip": self.host_ip, "container_port": self.container_port, "host_port": self.host_port,
                "range": self.range, "protocol": self.protocol}

    @classmethod
    def from_json(cls, doc: dict) -> "PortMapping":
        return cls(container_port=int(doc["container_port"]), host_port=int(doc.get("host_port") or 0),
                   host_ip=doc.get("host_ip") or "", range=int(doc.get("range") or 1),
                   protocol=doc.get("protocol") or "tcp")

    @property
    def shown_host_ip(self) -> str:
        return self.host_ip or "0.0.0.0"

    def pairs(self) -> Iterable[tuple[int, int]]:
        """(container port, host port) for every port of the range."""
        return ((self.container_port + i, self.host_port + i) for i in range(self.range))


# -- parsing ----------------------------------------------------------------------------------

def parse_publish(values: Iterable[str]) -> list[PortMapping]:
    """Every mapping in the `-p` values, in order (host port 0 where none was given)."""
    return [parse_mapping(item) for value in values for item in value.split(",")]


def parse_mapping(text: str) -> PortMapping:
    rest, sep, protocol = text.partition("/")
    if "/" in protocol:
        raise InvalidArgument("invalid port format - protocol can only be specified once")
    if sep and not protocol:
        raise InvalidArgument("must provide a non-empty protocol to publish")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise InvalidArgument(f"unrecognized protocol \"{protocol}\" in port mapping")
    host_ip: str | None = None
    if "]" in rest:
        bracketed, _, rest = rest.partition("]")
        if "]" in rest:
            raise InvalidArgument("invalid port format - at most one IPv6 address can be specified in a --publish")
        if not bracketed.startswith("["):
            raise InvalidArgument("invalid port format - IPv6 addresses must be enclosed by []")
        if not rest.startswith(":"):
            raise InvalidArgument("invalid port format - IPv6 address must be followed by a colon (':')")
        host_ip, rest = bracketed[1:], rest[1:]
        parts = rest.split(":")
        if len(parts) != 2:
            raise InvalidArgument("invalid port format - when v6 address specified, must be [ipv6]:hostPort:ctrPort")
        host_port, ctr_port = parts
    else:
        parts = rest.split(":")
        if len(parts) > 3:
            raise InvalidArgument("invalid port format - format is [[hostIP:]hostPort:]containerPort")
        if len(parts) == 3:
            host_ip = parts[0]
        host_port = parts[-2] if len(parts) > 1 else ""
        ctr_port = parts[-1]
    if not ctr_port:
        raise InvalidArgument("must provide a non-empty container port to publish")
    ctr_start, ctr_len = _port_range(ctr_port, "container")
    host_start = 0
    if host_port:
        host_start, host_len = _port_range(host_port, "host")
        if host_len != ctr_len:
            raise InvalidArgument(f"host and container port ranges have different lengths: {host_len} vs {ctr_len}")
    return PortMapping(container_port=ctr_start, host_port=host_start, host_ip=_host_ip(host_ip), range=ctr_len,
                       protocol=protocol)


def _host_ip(text: str | None) -> str:
    if text is None or text == "0.0.0.0":
        return ""
    if not text:
        raise InvalidArgument("must provide a non-empty container host IP to publish")
    import ipaddress
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidArgument(f"cannot parse \"{text}\" as an IP address") from None


def _port_range(text: str, which: str) -> tuple[int, int]:
    """`80` -> (80, 1); `8000-8001` -> (8000, 2)."""
    bounds = text.split("-")
    try:
        if len(bounds) > 2:
            raise ValueError("invalid port format - port ranges are formatted as startPort-stopPort")
        if not bounds[0]:
            raise ValueError("port numbers cannot be negative")
        start = _port(bounds[0])
        if len(bounds) == 1:
            return start, 1
        if not bounds[1]:
            raise ValueError("must provide ending number for port range")
        end = _port(bounds[1])
        if end <= start:
            raise ValueError(f"the end port of a range must be higher than the start port - {end} is not higher "
                             f"than {start}")
        return start, end - start + 1
    except ValueError as e:
        raise InvalidArgument(f"parsing {which} port: {e}") from None


def _port(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"invalid port number: strconv.Atoi: parsing \"{text}\": invalid syntax")
    number = int(text)
    if not 1 <= number <= 65535:
        raise ValueError(f"port numbers must be between 1 and 65535 (inclusive), got {number}")
    return number


def exposed_mappings(exposed: dict) -> list[PortMapping]:
    """`-P`: one mapping, host port to be picked, for each image `ExposedPorts` key ("80/tcp")."""
    out = []
    for key in exposed:
        port, _, protocol = key.partition("/")
        out.append(parse_mapping(f"{port}/{protocol or 'tcp'}"))
    return out


# -- checking and completing ------------------------------------------------------------------

def check_conflicts(mappings: list[PortMapping]) -> None:
    """Refuse two mappings that would listen on the same host port."""
    taken: dict[tuple[str, int], str] = {}
    for m in mappings:
        if not m.host_port:
            continue
        for _, host_port in m.pairs():
            key = (m.protocol, host_port)
            other = taken.get(key)
            if other is not None and (other == m.host_ip or "" in (other, m.host_ip)):
                raise InvalidArgument(f"conflicting port mappings for host port {host_port} (protocol {m.protocol})")
            taken[key] = m.host_ip


def assign_host_ports(mappings: list[PortMapping]) -> list[PortMapping]:
    """Give every mapping without a host port free ones (as many as its range)."""
    from otter.record import replace
    return [m if m.host_port else replace(m, host_port=_free_ports(m)) for m in mappings]


def _free_ports(m: PortMapping) -> int:
    for _ in range(FREE_PORT_ATTEMPTS):
        first = _bind(m.host_ip, m.protocol, 0)
        last = first + m.range - 1
        if last <= 65535 and all(_bind(m.host_ip, m.protocol, port) for port in range(first + 1, last + 1)):
            return first
    raise InvalidArgument(f"cannot find {m.range} free consecutive host ports for {m.container_port}/{m.protocol}")


def _bind(host_ip: str, protocol: str, port: int) -> int:
    """Bind a throw-away socket: the port it got, or 0 when `port` is taken."""
    import socket
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        try:
            sock.bind((host_ip, port))
        except OSError:
            return 0
        return sock.getsockname()[1]


# -- showing ----------------------------------------------------------------------------------

def ps_text(mappings: list[PortMapping]) -> str:
    """The `ps` PORTS column: `127.0.0.1:8080->80/tcp, 0.0.0.0:8000-8001->80-81/udp`."""
    out = []
    for m in mappings:
        if m.range > 1:
            out.append(f"{m.shown_host_ip}:{m.host_port}-{m.host_port + m.range - 1}->"
                       f"{m.container_port}-{m.container_port + m.range - 1}/{m.protocol}")
        else:
            out.append(f"{m.shown_host_ip}:{m.host_port}->{m.container_port}/{m.protocol}")
    return ", ".join(out)


def inspect_bindings(mappings: list[PortMapping]) -> dict:
    """`HostConfig.PortBindings`: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], ...}."""
    out: dict = {}
    for m in mappings:
        for ctr_port, host_port in m.pairs():
            out.setdefault(f"{ctr_port}/{m.protocol}", []).append({"HostIp": m.host_ip, "HostPort": str(host_port)})
    return out


def inspect_ports(mappings: list[PortMapping], exposed: dict) -> dict:
    """`NetworkSettings.Ports`: the bindings, plus each exposed but unpublished port as null."""
    out = inspect_bindings(mappings)
    for key in exposed:
        out.setdefault(key if "/" in key else f"{key}/tcp", None)
    return out


def port_lines(mappings: list[PortMapping]) -> list[str]:
    """`port CTR`: one `80/tcp -> 0.0.0.0:8080` line per published port."""
    return [f"{ctr_port}/{m.protocol} -> {m.shown_host_ip}:{host_port}"
            for m in mappings for ctr_port, host_port in m.pairs()]


def parse_port_query(spec: str) -> tuple[int, str]:
    """`port CTR 80[/udp]`: the container port and protocol asked about."""
    port_text, _, protocol = spec.partition("/")
    if "/" in protocol:
        raise InvalidArgument(f"port formats are port/protocol. {spec!r} is invalid")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise InvalidArgument(f"strconv.ParseUint: parsing \"{port_text}\": invalid syntax")
    return int(port_text), protocol or "tcp"


def find_published(mappings: list[PortMapping], port: int, protocol: str) -> str | None:
    """The host address (`0.0.0.0:8080`) that container port `port/protocol` is published on."""
    for m in mappings:
        if m.protocol == protocol and m.container_port <= port < m.container_port + m.range:
            return f"{m.shown_host_ip}:{m.host_port + port - m.container_port}"
    return None


def from_config(docs: list[dict]) -> list[PortMapping]:
    return [PortMapping.from_json(d) for d in docs]
