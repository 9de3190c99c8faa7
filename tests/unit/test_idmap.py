"""ID mappings without a namespace: parsing `--uidmap`/`--gidmap`/`--userns`, keep-id maps,
their checks, the OCI config they produce, and the helpers of ID-shifted layers."""

from __future__ import annotations

import pytest

from otter.core import userns
from otter.core.userns import Userns, check_maps, keep_id_maps, parse_map, resolve
from otter.errors import InvalidArgument
from otter.spec import runtime
from otter.spec.runtime import ProcessSpec, RuntimeSpecInput, build_config
from otter.storage import idmap
from otter.sys.idmap import IDMap, map_lines, to_container, to_host

ROOT_NS = (IDMap(0, 0, 4294967295),)
# otter's rootless namespace for uid 1003 with 65536 subordinate ids.
PAUSE_NS = (IDMap(0, 1003, 1), IDMap(1, 231072, 65536))


@pytest.mark.parametrize("text,expected", [
    ("0:100000:65536", IDMap(0, 100000, 65536)),
    ("1000:0:1", IDMap(1000, 0, 1)),
    ("0:4294967294:1", IDMap(0, 4294967294, 1)),
])
def test_parse_map(text, expected):
    assert parse_map(text, "UID") == expected
    assert str(expected) == text


@pytest.mark.parametrize("text,message", [
    ("0:x:1", 'UID setting is malformed expected ["uint32:uint32:uint32"]: ["0:x:1"]'),
    ("0:1", "malformed"),
    ("0:1:2:3", "malformed"),
    ("-1:1:2", "malformed"),
    ("0:1:4294967296", "malformed"),
    ("0:1:0", "the size must be at least 1"),
    ("0:4294967290:100", "beyond the largest ID"),
])
def test_parse_map_refuses(text, message):
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_map(text, "UID")


@pytest.mark.parametrize("maps,message", [
    ((IDMap(0, 100000, 10), IDMap(5, 200000, 10)), "5:200000:10 conflicts with other mappings"),
    ((IDMap(0, 100000, 10), IDMap(20, 100005, 10)), "20:100005:10 conflicts with other mappings"),
    ((IDMap(1, 100000, 10),), "container ID 0 cannot be mapped to a host ID"),
])
def test_check_maps_refuses(maps, message):
    with pytest.raises(InvalidArgument, match=message):
        check_maps(maps, ROOT_NS, "UID")


def test_check_maps_needs_available_host_ids():
    check_maps((IDMap(0, 1, 65536),), PAUSE_NS, "UID")
    check_maps((IDMap(0, 0, 1), IDMap(1, 1, 1000)), PAUSE_NS, "UID")     # spans both of otter's ranges
    with pytest.raises(InvalidArgument, match="0:1:70000 uses host IDs 1-70000, but only 0-0, 1-65536 are available"):
        check_maps((IDMap(0, 1, 70000),), PAUSE_NS, "UID")


def test_keep_id_maps_as_podman():
    # podman 4.3.1 as uid 1003 with 65536 subordinate ids: 0:1:1003, 1003:0:1, 1004:1004:64533.
    assert keep_id_maps(1003, PAUSE_NS) == (IDMap(0, 1, 1003), IDMap(1003, 0, 1), IDMap(1004, 1004, 64533))
    assert keep_id_maps(0, PAUSE_NS) == (IDMap(0, 0, 1), IDMap(1, 1, 65536))
    # A uid above the subordinate range: every subordinate id below it, nothing above.
    assert keep_id_maps(70000, PAUSE_NS) == (IDMap(0, 1, 65536), IDMap(70000, 0, 1))
    # Without subordinate ids only the user is mapped.
    assert keep_id_maps(1003, (IDMap(0, 1003, 1),)) == (IDMap(1003, 0, 1),)


@pytest.fixture
def pause_ns(monkeypatch):
    monkeypatch.setattr(userns, "own_maps", lambda kind: PAUSE_NS)


def test_resolve_keep_id(pause_ns):
    ns = resolve("keep-id", (), (), rootless=True)
    assert ns.mode == "keep-id" and ns.user == "1003:1003" and ns.private
    assert ns.uid_maps == ns.gid_maps == keep_id_maps(1003, PAUSE_NS)
    other = resolve("keep-id:uid=200,gid=210", (), (), rootless=True)
    assert other.user == "200:210" and to_host(other.uid_maps, 200) == 0 and to_host(other.gid_maps, 210) == 0


def test_resolve_maps_one_kind_for_both(pause_ns):
    ns = resolve(None, ("0:1:1000",), (), rootless=True)
    assert ns == Userns("private", (IDMap(0, 1, 1000),), (IDMap(0, 1, 1000),))
    ns = resolve(None, (), ("0:1:10",), rootless=True)
    assert ns.uid_maps == ns.gid_maps == (IDMap(0, 1, 10),)


@pytest.mark.parametrize("mode,uidmaps,rootless,message", [
    ("keep-id", (), False, "keep-id is only supported in rootless mode"),
    ("keep-id:size=1", (), True, "unknown option"),
    ("host", ("0:1:10",), True, "mutually exclusive"),
    ("bogus", (), True, "unrecognized namespace mode bogus passed"),
    ("auto", (), True, "not supported yet"),
])
def test_resolve_refuses(pause_ns, mode, uidmaps, rootless, message):
    with pytest.raises(InvalidArgument, match=message):
        resolve(mode, uidmaps, (), rootless)


@pytest.mark.parametrize("mode", [None, "", "host"])
def test_resolve_host(mode):
    assert resolve(mode, (), (), rootless=False) == Userns("")


def test_translation():
    maps = (IDMap(0, 100000, 1000), IDMap(1000, 0, 1))
    assert (to_host(maps, 0), to_host(maps, 999), to_host(maps, 1000), to_host(maps, 1001)) == (100000, 100999, 0, None)
    assert (to_container(maps, 100500), to_container(maps, 0), to_container(maps, 5)) == (500, 1000, None)
    assert map_lines(maps) == "0 100000 1000\n1000 0 1\n"


# -- config.json ------------------------------------------------------------------------------

def _config(monkeypatch, **kw):
    monkeypatch.setattr(runtime, "is_cgroup_v2", lambda: False)
    inp = RuntimeSpecInput(rootfs="/r", process=ProcessSpec(args=("true",), env=()), hostname="h",
                           seccomp="unconfined", cgroups_path="/otter-x", **kw)
    return build_config(inp)


def test_config_with_a_user_namespace(monkeypatch):
    maps = (IDMap(0, 100000, 65536),)
    config = _config(monkeypatch, uid_mappings=maps, gid_mappings=maps)
    linux = config["linux"]
    assert list(linux)[:2] == ["uidMappings", "gidMappings"]
    assert linux["uidMappings"] == linux["gidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert linux["namespaces"] == [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "user")]
    assert "devices" not in linux.get("resources", {})
    mounts = {m["destination"]: m for m in config["mounts"]}
    assert mounts["/sys"]["type"] == "sysfs" and "gid=5" in mounts["/dev/pts"]["options"]


def test_config_user_namespace_details(monkeypatch):
    no_tty = (IDMap(0, 100000, 5),)      # gid 5 unmapped
    config = _config(monkeypatch, uid_mappings=no_tty, gid_mappings=no_tty, network="host")
    mounts = {m["destination"]: m for m in config["mounts"]}
    assert "gid=5" not in mounts["/dev/pts"]["options"]
    # Without an own netns a user namespace cannot mount a fresh sysfs: the host's is bound.
    assert mounts["/sys"]["type"] == "bind" and "/sys/kernel" in config["linux"]["maskedPaths"]


def test_config_without_a_user_namespace_is_unchanged(monkeypatch):
    linux = _config(monkeypatch)["linux"]
    assert "uidMappings" not in linux and {"type": "user"} not in linux["namespaces"]
    assert linux["resources"]["devices"] == [{"allow": False, "access": "rwm"}]


# -- ID-shifted layers ---------------------------------------------------------------------------

def test_mapping_key_names_a_mapping():
    a = (IDMap(0, 100000, 65536),)
    b = (IDMap(0, 200000, 65536),)
    assert idmap.mapping_key(a, a) == idmap.mapping_key(a, a) != idmap.mapping_key(a, b) != idmap.mapping_key(b, a)
    assert len(idmap.mapping_key(a, a)) == 16


def test_owner_shift_sends_unmapped_ids_to_the_overflow_id():
    shift = idmap.owner_shift((IDMap(0, 100000, 1000),), (IDMap(0, 200000, 1000),))
    assert shift(0, 0) == (100000, 200000)
    assert shift(999, 5) == (100999, 200005)
    assert shift(1000, 65534) == (65534, 65534)


def test_mapping_option_round_trip():
    maps = (IDMap(0, 1, 1000), IDMap(1000, 0, 1))
    option = idmap._mapping_option("uidmapping=", maps)
    assert option == "uidmapping=0:1:1000:1000:0:1"
    assert idmap._parse_mapping_option(option.split("=", 1)[1]) == maps
