"""Containers with a user namespace of their own: `--uidmap`, `--gidmap`, `--userns=keep-id`.

As root the host ids of a mapping are real host ids; rootless they are ids of otter's own
namespace (0 is the user, 1.. the subordinate ids), as Podman documents.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import tarfile

import pytest

from tests.conftest import ROOTLESS, mounts_under, store_files, subuid_start

# Container root on the first id of a 65536-id range: host id 100000 as root; rootless the
# user's first subordinate id (id 1 of otter's namespace).
MAP_START = 1 if ROOTLESS else 100000
MAP = ("--uidmap", f"0:{MAP_START}:65536", "--gidmap", f"0:{MAP_START}:65536")
root_only = pytest.mark.skipif(ROOTLESS, reason="host ids in a mapping are real host ids only as root")
rootless_only = pytest.mark.skipif(not ROOTLESS, reason="keep-id and namespace-relative ids are rootless")


def host_root() -> int:
    """The real host id of container root under MAP."""
    return subuid_start() if ROOTLESS else 100000


@pytest.fixture
def box(bb):
    yield bb
    bb.run("rm", "-a", "-f", "-t", "0")
    assert mounts_under(bb.root) == []


def shifted_layers(eng) -> list[str]:
    """The ID-shifted layer copies in a store (`storage.idmap`)."""
    mapped = os.path.join(eng.root, "layers", "overlay", "mapped")
    if not os.path.isdir(mapped):
        return []
    return [f"{key}/{layer}" for key in os.listdir(mapped) for layer in os.listdir(os.path.join(mapped, key))]


def active_snapshots(eng) -> list[str]:
    active = os.path.join(eng.root, "layers", "overlay", "active")
    return os.listdir(active) if os.path.isdir(active) else []


def shared_dir(tmp_path, mode: int = 0o777) -> str:
    """A directory the test user owns, bound into containers."""
    path = tmp_path / "shared"
    path.mkdir()
    path.chmod(mode)
    return str(path)


# -- explicit maps -----------------------------------------------------------------------------

def test_uidmap(box, tmp_path):
    shared = shared_dir(tmp_path)
    out = box.run("run", "--rm", "--network", "none", *MAP, "-v", f"{shared}:/data", "busybox", "sh", "-c",
                  "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
                  "stat -c '%u:%g' /bin/busybox / /home/user; touch /data/made").out.split("\n")
    assert out[0].split() == ["0", str(MAP_START), "65536"] and out[1].split() == out[0].split()
    assert out[2:4] == ["0", "0"]
    assert out[4:7] == ["0:0", "0:0", "1000:1000"]
    st = os.stat(os.path.join(shared, "made"))
    assert st.st_uid == host_root()


def test_uidmap_alone_maps_gids_too(box):
    out = box.run("run", "--rm", "--network", "none", "--uidmap", f"0:{MAP_START}:1000", "busybox", "sh", "-c",
                  "cat /proc/self/gid_map; stat -c %u /bin/busybox").out.split("\n")
    assert out[0].split() == ["0", str(MAP_START), "1000"] and out[1] == "0"


@root_only
def test_keep_id_is_refused_as_root(box):
    before = store_files(box.root)
    proc = box.run("run", "--rm", "--userns=keep-id", "busybox", "true", expect=125)
    assert proc.err == "Error: keep-id is only supported in rootless mode\n"
    assert box.run("ps", "-a", "-q").out == ""
    assert store_files(box.root) == before and active_snapshots(box) == []


def test_runtime_config_has_a_user_namespace(box):
    cid = box.run("create", "--network", "none", *MAP, "busybox", "true").out.strip()
    box.run("start", cid)
    path = os.path.join(box.runroot, "containers", cid, "config.json")
    if ROOTLESS:
        # The bundle belongs to mapped root, as Podman's userdata does: read it from inside
        # otter's namespace.
        linux = json.loads(box.run("unshare", "cat", path).out)["linux"]
    else:
        with open(path) as f:
            linux = json.load(f)["linux"]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": MAP_START, "size": 65536}]
    assert linux["gidMappings"] == linux["uidMappings"]
    assert linux["namespaces"][-1] == {"type": "user"}
    # Podman 4.3.1 writes no device cgroup rules for a container in a user namespace.
    assert "devices" not in linux.get("resources", {})


def test_top_and_ps_show_container_ids(box):
    box.run("run", "-d", "--name", "t", "--network", "none", *MAP, "busybox", "sleep", "100")
    rows = box.run("top", "t").out.splitlines()
    assert rows[1].split()[0] == "root"
    assert "t" in box.run("ps", "--format", "{{.Names}}").out.split()
    pid = int(box.run("inspect", "--format", "{{.State.Pid}}", "t").out)
    assert os.stat(f"/proc/{pid}").st_uid == host_root()


def test_shifted_layers_are_shared_and_collected(bb):
    """Where idmapped lower layers cannot be used (always rootless), each layer is copied once
    per mapping, shared by the containers with that mapping and removed with the last of them."""
    os.makedirs(bb.runroot, exist_ok=True)
    with open(os.path.join(bb.runroot, "idmapped-lowers"), "w") as f:
        f.write("false")    # the cached probe answer: take the copying path
    for name in ("a", "b"):
        bb.run("create", "--name", name, "--network", "none", *MAP, "busybox", "true")
        bb.run("start", "-a", name)
    [copy] = shifted_layers(bb)
    busybox = os.path.join(bb.root, "layers", "overlay", "mapped", copy, "diff", "bin", "busybox")
    assert os.stat(busybox).st_uid == host_root()
    assert bb.run("start", "-a", "a").returncode == 0
    bb.run("rm", "a")
    assert shifted_layers(bb) == [copy]
    bb.run("rm", "b")
    assert shifted_layers(bb) == []
    bb.run("rmi", "busybox")
    assert store_files(bb.root) == set() and not os.path.exists(os.path.join(bb.root, "layers", "overlay", "mapped"))
    assert mounts_under(bb.root) == []


@root_only
def test_idmapped_lowers_need_no_copies(box):
    box.run("run", "--rm", "--network", "none", *MAP, "busybox", "true")
    with open(os.path.join(box.runroot, "idmapped-lowers")) as f:
        assert f.read() == "true"      # kernel 6.18 takes idmapped lower layers
    box.run("run", "-d", "--name", "i", "--network", "none", *MAP, "busybox", "sleep", "100")
    assert shifted_layers(box) == []
    assert box.run("exec", "i", "stat", "-c", "%u", "/bin/busybox").out.strip() == "0"


# -- rootless: ids of otter's namespace --------------------------------------------------------

@rootless_only
def test_keep_id(box, tmp_path):
    shared = shared_dir(tmp_path, 0o700)
    user = pwd.getpwuid(os.getuid())
    out = box.run("run", "--rm", "--network", "none", "--userns=keep-id", "-v", f"{shared}:/data", "busybox",
                  "sh", "-c", "id -u; id -g; stat -c %u /; grep \"^$(id -un):\" /etc/passwd; echo $HOME; "
                  "touch /data/made").out.split("\n")
    assert out[0:3] == [str(os.getuid()), str(os.getgid()), "0"]
    assert out[3] == f"{user.pw_name}:*:{os.getuid()}:{os.getgid()}:{user.pw_gecos}:/:/bin/sh"
    assert out[4] == "/"
    st = os.stat(os.path.join(shared, "made"))
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


@rootless_only
def test_keep_id_maps_root_to_the_first_subordinate_id(box):
    box.run("run", "-d", "--name", "k", "--network", "none", "--userns=keep-id", "--user", "0", "busybox",
            "sleep", "100")
    out = box.run("exec", "k", "cat", "/proc/self/uid_map").out.split("\n")
    uid = os.getuid()
    assert [line.split() for line in out if line] == [
        ["0", "1", str(uid)], [str(uid), "0", "1"], [str(uid + 1), str(uid + 1), str(65536 - uid)]]
    pid = int(box.run("inspect", "--format", "{{.State.Pid}}", "k").out)
    assert os.stat(f"/proc/{pid}").st_uid == subuid_start()
    doc = json.loads(box.run("inspect", "k").out)[0]["HostConfig"]
    assert doc["UsernsMode"] == "private"
    assert doc["IDMappings"]["UidMap"] == [f"0:1:{uid}", f"{uid}:0:1", f"{uid + 1}:{uid + 1}:{65536 - uid}"]


# -- both ------------------------------------------------------------------------------------

BAD = [
    (("--uidmap", "0:x:1"), 'UID setting is malformed expected ["uint32:uint32:uint32"]: ["0:x:1"]'),
    (("--gidmap", "0:1"), "GID setting is malformed"),
    (("--uidmap", "0:1:10", "--uidmap", "5:100:10"), "conflicts with other mappings"),
    (("--uidmap", "0:1:10", "--uidmap", "20:5:10"), "conflicts with other mappings"),
    (("--uidmap", "1:1:10"), "container ID 0 cannot be mapped to a host ID"),
    (("--uidmap", "0:1:0"), "the size must be at least 1"),
    (("--userns", "host", "--uidmap", "0:1:10"), "mutually exclusive"),
    (("--userns", "bogus"), "unrecognized namespace mode bogus passed"),
    (("--userns", "keep-id:size=5"), "unknown option" if ROOTLESS else "only supported in rootless mode"),
]


@pytest.mark.parametrize("flags,message", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_values(box, flags, message):
    before = store_files(box.root)
    proc = box.run("run", "--rm", "--network", "none", *flags, "busybox", "true", expect=125)
    assert proc.err.startswith("Error: ") and message in proc.err and proc.err.count("\n") == 1
    assert box.run("ps", "-a", "-q").out == ""
    assert store_files(box.root) == before and active_snapshots(box) == []


def test_range_beyond_the_available_ids(box):
    # Rootless otter's namespace has ids 0..65536 (the user and 65536 subordinate ids).
    flags = ("--uidmap", "0:1:70000") if ROOTLESS else ("--uidmap", "0:4294967000:1000")
    proc = box.run("run", "--rm", "--network", "none", *flags, "busybox", "true", expect=125)
    assert proc.err.startswith("Error: ") and proc.err.count("\n") == 1
    assert ("are available" if ROOTLESS else "beyond the largest ID") in proc.err
    assert box.run("ps", "-a", "-q").out == "" and active_snapshots(box) == []


def test_unmapped_user_is_refused_at_start(box):
    box.run("create", "--name", "u", "--network", "none", "--uidmap", "0:1:1000" if ROOTLESS else "0:100000:1000",
            "--user", "2000", "busybox", "true")
    proc = box.run("start", "u", expect=125)
    assert "doesn't map UID 2000" in proc.err
    assert mounts_under(box.root) == []


def test_host_userns_is_the_default(box):
    for flags in ((), ("--userns=host",), ("--userns=",)):
        cid = box.run("create", "--network", "none", *flags, "busybox", "cat", "/proc/self/uid_map").out.strip()
        doc = json.loads(box.run("inspect", cid).out)[0]["HostConfig"]
        assert doc["UsernsMode"] == "" and "IDMappings" not in doc
        box.run("start", "-a", cid)
    # No namespace of the container's own: the maps of otter's own namespace.
    maps = {box.run("logs", cid).out for cid in box.run("ps", "-a", "-q", "--no-trunc").out.split()}
    assert len(maps) == 1 and maps.pop().split()[:2] == (["0", str(os.getuid())] if ROOTLESS else ["0", "0"])


# -- archives record the container's own ids ---------------------------------------------------

def tar_owners(data: bytes) -> dict[str, tuple[int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (m.uid, m.gid) for m in tar}


def test_archives_of_a_mapped_container_hold_its_own_ids(box, tmp_path):
    """commit, export and `cp CTR:PATH -` write the ids the container sees, not the shifted
    ones on disk; `cp` into it with --archive gives files to its user as it sees them."""
    box.run("run", "--name", "m", "--network", "none", *MAP, "busybox", "sh", "-c",
            "echo x > /made; chown 1000:1000 /home/user; rm /bin/true")
    exported = tar_owners(box.run("export", "m").stdout)
    assert exported["made"] == (0, 0) and exported["bin/busybox"] == (0, 0) and exported["home/user"] == (1000, 1000)
    assert tar_owners(box.run("cp", "m:/made", "-").stdout) == {"made": (0, 0)}
    box.run("commit", "m", "committed")
    out = box.run("run", "--rm", "--network", "none", "committed", "sh", "-c",
                  "stat -c %u:%g /made /home/user; test -e /bin/true || echo deleted").out.split()
    assert out == ["0:0", "1000:1000", "deleted"]
    source = tmp_path / "in"
    source.write_text("y")
    box.run("cp", str(source), "m:/copied")
    assert tar_owners(box.run("cp", "m:/copied", "-").stdout) == {"copied": (0, 0)}


def test_new_volume_belongs_to_the_mapped_root(box):
    """A volume the image has no directory for is given to the container's root on first use
    (Podman's fixVolumePermissions), so it can write there; on disk it is the mapped id."""
    out = box.run("run", "--rm", "--network", "none", *MAP, "-v", "fresh:/fresh", "busybox", "sh", "-c",
                  "touch /fresh/x && stat -c %u:%g /fresh").out
    assert out == "0:0\n"
    mountpoint = box.run("volume", "inspect", "--format", "{{.Mountpoint}}", "fresh").out.strip()
    assert os.stat(mountpoint).st_uid == host_root()
