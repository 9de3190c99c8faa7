"""`-p/--publish` parsing and the ways published ports are shown (expectations from Podman 4.3.1),
and the slirp4netns option parser and invocation."""

from __future__ import annotations

import socket

import pytest

from otter.errors import InvalidArgument
from otter.network import ports
from otter.network.ports import PortMapping

GOOD = [
    ("80", PortMapping(80)),
    ("8080:80", PortMapping(80, 8080)),
    ("127.0.0.1:8080:80", PortMapping(80, 8080, "127.0.0.1")),
    ("0.0.0.0:8080:80", PortMapping(80, 8080, "")),
    ("127.0.0.1::80", PortMapping(80, 0, "127.0.0.1")),
    (":80", PortMapping(80)),
    ("8080:80/udp", PortMapping(80, 8080, protocol="udp")),
    ("8080:80/sctp", PortMapping(80, 8080, protocol="sctp")),
    ("8000-8001:80-81", PortMapping(80, 8000, range=2)),
    ("80-82", PortMapping(80, 0, range=3)),
    ("[::1]:8080:80", PortMapping(80, 8080, "::1")),
    ("[::1]::80/udp", PortMapping(80, 0, "::1", protocol="udp")),
]

BAD = [
    ("abc", 'parsing container port: invalid port number: strconv.Atoi: parsing "abc": invalid syntax'),
    ("70000:80", "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 70000"),
    ("80:70000", "parsing container port: port numbers must be between 1 and 65535 (inclusive), got 70000"),
    ("0:80", "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 0"),
    ("1.2.3:80:80", 'cannot parse "1.2.3" as an IP address'),
    (":8080:80", "must provide a non-empty container host IP to publish"),
    ("8080:80/sctpx", 'unrecognized protocol "sctpx" in port mapping'),
    ("8080:80/", "must provide a non-empty protocol to publish"),
    ("8080:80/tcp/udp", "invalid port format - protocol can only be specified once"),
    ("80:", "must provide a non-empty container port to publish"),
    ("1:2:3:4", "invalid port format - format is [[hostIP:]hostPort:]containerPort"),
    ("8000-8002:80-81", "host and container port ranges have different lengths: 3 vs 2"),
    ("8080-8000:80-90", "parsing host port: the end port of a range must be higher than the start port - 8000 is not "
                        "higher than 8080"),
    ("80-", "parsing container port: must provide ending number for port range"),
    ("1-2-3", "parsing container port: invalid port format - port ranges are formatted as startPort-stopPort"),
    ("::1:8080:80", "invalid port format - format is [[hostIP:]hostPort:]containerPort"),
    ("::1]:8080:80", "invalid port format - IPv6 addresses must be enclosed by []"),
    ("[::1]8080:80", "invalid port format - IPv6 address must be followed by a colon (':')"),
    ("[::1]:80", "invalid port format - when v6 address specified, must be [ipv6]:hostPort:ctrPort"),
]


@pytest.mark.parametrize("text,expected", GOOD, ids=[t for t, _ in GOOD])
def test_parse_good(text, expected):
    assert ports.parse_mapping(text) == expected


@pytest.mark.parametrize("text,message", BAD, ids=[t for t, _ in BAD])
def test_parse_bad(text, message):
    with pytest.raises(InvalidArgument) as err:
        ports.parse_mapping(text)
    assert str(err.value) == message


def test_one_value_may_hold_several_mappings():
    assert ports.parse_publish(["8080:80,9090:90/udp", "1:2"]) == [
        PortMapping(80, 8080), PortMapping(90, 9090, protocol="udp"), PortMapping(2, 1)]


def test_wire_form_round_trips():
    m = PortMapping(80, 8000, "127.0.0.1", 2, "udp")
    assert m.to_json() == {"host_ip": "127.0.0.1", "container_port": 80, "host_port": 8000, "range": 2,
                           "protocol": "udp"}
    assert PortMapping.from_json(m.to_json()) == m


@pytest.mark.parametrize("values", [["8080:80", "8080:81"], ["127.0.0.1:8080:80", "8080:81"],
                                    ["8000-8002:80-82", "8002:90"]])
def test_conflicting_host_ports(values):
    with pytest.raises(InvalidArgument, match="conflicting port mappings for host port"):
        ports.check_conflicts(ports.parse_publish(values))


def test_no_conflict_across_protocols_or_addresses():
    ports.check_conflicts(ports.parse_publish(["8080:80", "8080:80/udp", "127.0.0.1:9090:90", "127.0.0.2:9090:90"]))


def test_free_host_ports_are_assigned():
    mapped = ports.assign_host_ports([PortMapping(80, 0, "127.0.0.1", range=3), PortMapping(90, 1234)])
    first = mapped[0].host_port
    assert first > 0 and mapped[1] == PortMapping(90, 1234)
    for port in range(first, first + 3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_shown_as_podman_shows_them():
    mappings = [PortMapping(80, 18555, "127.0.0.1"), PortMapping(81, 18556, "", 2, "udp")]
    assert ports.ps_text(mappings) == "127.0.0.1:18555->80/tcp, 0.0.0.0:18556-18557->81-82/udp"
    assert ports.port_lines(mappings) == ["80/tcp -> 127.0.0.1:18555", "81/udp -> 0.0.0.0:18556",
                                          "82/udp -> 0.0.0.0:18557"]
    assert ports.inspect_bindings(mappings) == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18555"}],
        "81/udp": [{"HostIp": "", "HostPort": "18556"}],
        "82/udp": [{"HostIp": "", "HostPort": "18557"}]}
    assert ports.inspect_ports(mappings, {"80/tcp": {}, "443/tcp": {}})["443/tcp"] is None
    assert ports.find_published(mappings, 82, "udp") == "0.0.0.0:18557"
    assert ports.find_published(mappings, 82, "tcp") is None


@pytest.mark.parametrize("spec,expected", [("80", (80, "tcp")), ("53/udp", (53, "udp"))])
def test_port_query(spec, expected):
    assert ports.parse_port_query(spec) == expected


@pytest.mark.parametrize("spec,message", [("80/foo/x", "port formats are port/protocol. '80/foo/x' is invalid"),
                                          ("abc", 'strconv.ParseUint: parsing "abc": invalid syntax')])
def test_bad_port_query(spec, message):
    with pytest.raises(InvalidArgument) as err:
        ports.parse_port_query(spec)
    assert str(err.value) == message


def test_exposed_ports_for_publish_all():
    assert ports.exposed_mappings({"80/tcp": {}, "53/udp": {}}) == [PortMapping(80), PortMapping(53, protocol="udp")]


# -- slirp4netns options and invocation ---------------------------------------------------------

def test_slirp_options():
    from otter.network.slirp import SlirpOptions, parse_options
    assert parse_options("") == SlirpOptions()
    opts = parse_options("allow_host_loopback=true,mtu=1500,enable_ipv6=true,port_handler=slirp4netns")
    assert opts == SlirpOptions(allow_host_loopback=True, mtu=1500, enable_ipv6=True)
    assert SlirpOptions.from_json(opts.to_json()) == opts


@pytest.mark.parametrize("text,message", [
    ("allow_host_loopback=maybe", 'invalid value of allow_host_loopback for slirp4netns: "maybe"'),
    ("bogus=1", 'unknown option for slirp4netns: "bogus=1"'),
    ("mtu=abc", 'invalid mtu "abc"'),
    ("mtu=70000", 'invalid mtu "70000"'),
    ("port_handler=foo", 'unknown port_handler for slirp4netns: "foo"'),
])
def test_bad_slirp_options(text, message):
    from otter.network.slirp import parse_options
    with pytest.raises(InvalidArgument) as err:
        parse_options(text)
    assert str(err.value) == message


def test_slirp4netns_argv(monkeypatch):
    from otter.drivers import slirp4netns
    monkeypatch.setattr(slirp4netns, "binary", lambda: "/usr/bin/slirp4netns")
    req = slirp4netns.SlirpRequest(netns_path="/run/otter/netns/c1", api_socket="/run/otter/containers/c1/s.sock",
                                   log_path="/dev/null")
    assert slirp4netns.argv(req, 3, 4) == [
        "/usr/bin/slirp4netns", "--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp",
        "-c", "-e", "3", "-r", "4", "--api-socket", "s.sock", "--netns-type=path", "/run/otter/netns/c1", "tap0"]
    loopback = slirp4netns.SlirpRequest("/n", "/s", "/l", mtu=1500, allow_host_loopback=True, enable_ipv6=True)
    assert slirp4netns.argv(loopback, 5, 6)[1:5] == ["--mtu=1500", "--enable-sandbox", "--enable-seccomp",
                                                     "--enable-ipv6"]
