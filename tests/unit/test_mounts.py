"""Tests for otter.core.mounts (the -v, --mount and --tmpfs flags) and for what containers get from
otter.engine.volumes (resolve_mounts, copy_up, remove_anonymous, the in-use rules).

Every expected message and option list below was taken from podman 4.3.1 on this machine
(`podman create ...` and `podman inspect --format '{{json .Mounts}} {{json .HostConfig.Binds}}'`).
"""

from __future__ import annotations

import os

import pytest

from otter.core.container import Container, ContainerConfig, RuntimeInfo, State
from otter.core.mounts import (
    NO_SOURCE_FLAGS,
    MountRequest,
    check_duplicates,
    parse_mount_flag,
    parse_tmpfs_flag,
    parse_volume_flag,
    process_options,
    runtime_options,
)
from otter.core.state import ContainerState
from otter.engine import volumes
from otter.engine.context import Engine
from otter.errors import AlreadyExists, InUse, InvalidArgument, VolumeNotFound
from otter.paths import StorePaths
from otter.spec.runtime import MountSpec

CWD = os.getcwd()


def req(kind: str, source: str, destination: str, *options: str) -> MountRequest:
    return MountRequest(kind, source, destination, tuple(options), "ro" in options)


# -- -v/--volume --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("/data", req("volume", "", "/data")),
    ("/data/", req("volume", "", "/data")),
    ("vol:/data", req("volume", "vol", "/data")),
    ("my_vol.1-x:/data:ro", req("volume", "my_vol.1-x", "/data", "ro")),
    ("vol:/data:nocopy,U", req("volume", "vol", "/data", "nocopy", "U")),
    ("/src:/dst", req("bind", "/src", "/dst")),
    ("/src:/dst:rw", req("bind", "/src", "/dst", "rw")),
    ("/src:/dst:ro,z", req("bind", "/src", "/dst", "ro", "z")),
    ("/src:/dst:Z,rshared", req("bind", "/src", "/dst", "Z", "rshared")),
    ("/src:/dst:bind,slave,noexec,nosuid,nodev",
     req("bind", "/src", "/dst", "bind", "slave", "noexec", "nosuid", "nodev")),
    ("/src:/dst:rbind,private,exec,suid,dev", req("bind", "/src", "/dst", "rbind", "private", "exec", "suid", "dev")),
    ("/src:/dst:rprivate,copy", req("bind", "/src", "/dst", "rprivate", "copy")),
    ("/src:/dst:rslave", req("bind", "/src", "/dst", "rslave")),
    ("/src:/dst:runbindable", req("bind", "/src", "/dst", "runbindable")),
    ("/src:/dst:cached,ro,delegated", req("bind", "/src", "/dst", "ro")),    # macOS-only options dropped
    ("/src:/a//b/../c", req("bind", "/src", "/a/c")),
    ("./rel:/dst", req("bind", os.path.join(CWD, "rel"), "/dst")),
    (".:/dst", req("bind", CWD, "/dst")),
    ("../up:/dst", req("bind", os.path.join(os.path.dirname(CWD), "up"), "/dst")),
])
def test_volume_flag(text, expected):
    assert parse_volume_flag(text) == expected


def test_volume_flag_read_only():
    assert parse_volume_flag("/src:/dst:ro").read_only
    assert not parse_volume_flag("/src:/dst:rw").read_only
    assert not parse_volume_flag("vol:/dst").read_only


@pytest.mark.parametrize("text, message", [
    ("ctr", 'invalid container path "ctr", must be an absolute path'),
    ("vol:ctr", 'invalid container path "ctr", must be an absolute path'),
    ("", "container directory cannot be empty"),
    ("/src:", "container directory cannot be empty"),
    (":/data", "host directory cannot be empty"),
    ("a:b:c:d", "a:b:c:d: incorrect volume format, should be [host-dir:]ctr-dir[:option]"),
    ("/src:/data:bogus", 'invalid option type "bogus"'),
    ("/src:/data:", 'invalid option type ""'),
    ("/src:/data:size=1m", 'invalid option type "size=1m"'),
    ("/src:/data:ro,rw", "invalid options \"ro, rw\", can only specify 1 'rw' or 'ro' option"),
    ("/src:/data:rprivate,shared",
     "invalid options \"rprivate, shared\", can only specify 1 '[r]shared', '[r]private', '[r]slave' or "
     "'[r]unbindable' option"),
    ("vol:/data:nocopy,copy", "invalid options \"nocopy, copy\", can only specify 1 'copy' or 'nocopy' option"),
    ("/src:/data:z,Z", "invalid options \"z, Z\", can only specify 1 'z', 'Z', or 'O' option"),
    ("/src:/data:bind,rbind", "invalid options \"bind, rbind\", can only specify 1 '[r]bind' option"),
    ("/src:/data:noexec,exec", "invalid options \"noexec, exec\", can only specify 1 'noexec' or 'exec' option"),
    ("/src:/data:nodev,dev", "invalid options \"nodev, dev\", can only specify 1 'nodev' or 'dev' option"),
    ("/src:/data:suid,nosuid", "invalid options \"suid, nosuid\", can only specify 1 'nosuid' or 'suid' option"),
    ("/src:/data:U,U", "invalid options \"U, U\", can only specify 1 'U' option"),
    ("/src:/data:O", 'the "O" volume option is not supported by otter'),
    ("bad name:/data", 'creating named volume "bad name": running volume create option: '
                       "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"),
    ("-x:/data", 'creating named volume "-x": running volume create option: '
                 "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"),
])
def test_volume_flag_errors(text, message):
    with pytest.raises(InvalidArgument) as e:
        parse_volume_flag(text)
    assert str(e.value) == message


# -- --mount ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("type=bind,src=/tmp,dst=/m", req("bind", "/tmp", "/m")),
    ("type=bind,source=/tmp,destination=/m", req("bind", "/tmp", "/m")),
    ("dst=/m,type=bind,source=/tmp,target=/x//", req("bind", "/tmp", "/x")),     # the last destination wins
    ("type=bind,target=/etc/hosts", req("bind", "/etc/hosts", "/etc/hosts")),    # source defaults to the target
    ("type=bind,src=rel,dst=/m", req("bind", os.path.join(CWD, "rel"), "/m")),
    ("type=bind,src=/tmp,dst=/m,readonly", req("bind", "/tmp", "/m", "ro")),
    ("type=bind,src=/tmp,dst=/m,readonly=true", req("bind", "/tmp", "/m", "ro")),
    ("type=bind,src=/tmp,dst=/m,ro=True", req("bind", "/tmp", "/m", "ro")),
    ("type=bind,src=/tmp,dst=/m,ro=false", req("bind", "/tmp", "/m")),
    ("type=bind,src=/tmp,dst=/m,rw", req("bind", "/tmp", "/m", "rw")),
    ("type=bind,src=/tmp,dst=/m,rw=false", req("bind", "/tmp", "/m", "ro")),
    ("type=bind,src=/tmp,dst=/m,bind-propagation=rslave", req("bind", "/tmp", "/m", "rslave")),
    ("type=bind,src=/tmp,dst=/m,bind-nonrecursive", req("bind", "/tmp", "/m", "bind")),
    ("type=bind,src=/tmp,dst=/m,relabel=private", req("bind", "/tmp", "/m", "Z")),
    ("type=bind,src=/tmp,dst=/m,relabel=shared", req("bind", "/tmp", "/m", "z")),
    ("type=bind,src=/tmp,dst=/m,U", req("bind", "/tmp", "/m", "U")),
    ("type=bind,src=/tmp,dst=/m,chown=false", req("bind", "/tmp", "/m")),
    ("type=bind,src=/tmp,dst=/m,nosuid,nodev,noexec", req("bind", "/tmp", "/m", "nosuid", "nodev", "noexec")),
    ("type=bind,src=/tmp,dst=/m,consistency=delegated", req("bind", "/tmp", "/m")),
    ('type=bind,src=/tmp,dst=/m,"ro"', req("bind", "/tmp", "/m", "ro")),        # one CSV record
    ("type=volume,src=vol,dst=/v", req("volume", "vol", "/v")),
    ("type=volume,dst=/v", req("volume", "", "/v")),                              # anonymous
    ("type=volume,src=vol,dst=/v,ro,volume-nocopy", req("volume", "vol", "/v", "ro", "nocopy")),
    ("type=volume,src=vol,dst=/v,volume-nocopy=false", req("volume", "vol", "/v")),
    ("type=volume,src=vol,dst=/v,exec,suid,dev", req("volume", "vol", "/v", "exec", "suid", "dev")),
    ("type=tmpfs,dst=/t", req("tmpfs", "", "/t")),
    ("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777", req("tmpfs", "", "/t", "size=1m", "mode=1777")),
    ("type=tmpfs,dst=/t,ro,notmpcopyup", req("tmpfs", "", "/t", "ro", "notmpcopyup")),
])
def test_mount_flag(text, expected):
    assert parse_mount_flag(text) == expected


FORMAT = ("incorrect mount format: should be --mount type=<bind|tmpfs|volume>,[src=<host-dir|volume-name>,]"
          "target=<ctr-dir>[,options]")


@pytest.mark.parametrize("text, message", [
    ("dst=/x", FORMAT),
    ("", FORMAT),
    ("type=bind=x,dst=/x", FORMAT),
    ("type=bogus,dst=/x", 'invalid filesystem type "bogus"'),
    ("type=bind", "must set volume destination"),
    ("type=bind,src=/tmp", "must set volume destination"),
    ("type=bind,src=/tmp,dst=rel", 'invalid container path "rel", must be an absolute path'),
    ("type=bind,src,dst=/x", "src: must provide an argument for option"),
    ("type=bind,src=,dst=/x", "host directory cannot be empty: must provide an argument for option"),
    ("type=bind,src=/tmp,dst", "dst: must provide an argument for option"),
    ("type=bind,src=/tmp,dst=/x,bogus", "bogus: invalid mount option"),
    ("type=bind,src=/tmp,dst=/x,type=volume", "type: invalid mount option"),
    ("type=bind,src=/tmp,dst=/x,ro=maybe", "'readonly', 'ro', or 'rw' must be set to true or false, "
                                           'instead received "maybe": must provide an argument for option'),
    ("type=bind,src=/tmp,dst=/x,ro,rw", "cannot pass 'readonly', 'ro', or 'rw' options more than once: "
                                        "must provide an argument for option"),
    ("type=bind,src=/tmp,dst=/x,nosuid,suid", "cannot pass 'nosuid' and 'suid' options more than once: "
                                              "must provide an argument for option"),
    ("type=bind,src=/tmp,dst=/x,U,chown", "cannot pass 'U' or 'chown' option more than once: "
                                          "must provide an argument for option"),
    ("type=bind,src=/tmp,dst=/x,bind-propagation=wrong", 'invalid option type "wrong"'),
    ("type=bind,src=/tmp,dst=/x,bind-propagation", "bind-propagation: must provide an argument for option"),
    ("type=bind,src=/tmp,dst=/x,relabel=yes",
     "relabel mount option must be 'private' or 'shared': invalid mount option"),
    ("type=bind,dst=/x,tmpfs-size=1", "tmpfs-size: invalid mount option"),
    ("type=bind,dst=/x,volume-nocopy", "volume-nocopy: invalid mount option"),
    ("type=volume,dst=/x,bind-propagation=rshared", "bind-propagation: invalid mount option"),
    ("type=volume,src=/tmp,dst=/x", 'creating named volume "/tmp": running volume create option: '
                                    "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"),
    ("type=tmpfs,src=x,dst=/t", "source is not supported with tmpfs mounts"),
    ("type=tmpfs,dst=/t,U", "U: invalid mount option"),
    ("type=tmpfs,dst=/t,tmpfs-size", "tmpfs-size: must provide an argument for option"),
    ("type=tmpfs,dst=/t,tmpcopyup,notmpcopyup", "cannot pass 'tmpcopyup' and 'notmpcopyup' options more than once: "
                                                "must provide an argument for option"),
    ("type=bind,src=/tmp\n,dst=/x", FORMAT),            # two CSV records
])
def test_mount_flag_errors(text, message):
    with pytest.raises(InvalidArgument) as e:
        parse_mount_flag(text)
    assert str(e.value) == message


# -- --tmpfs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("/t", req("tmpfs", "", "/t")),
    ("/t/", req("tmpfs", "", "/t")),
    ("/t:size=64k,mode=1700", req("tmpfs", "", "/t", "size=64k", "mode=1700")),
    ("/t:ro,noexec,nosuid,nodev,rshared", req("tmpfs", "", "/t", "ro", "noexec", "nosuid", "nodev", "rshared")),
    ("/t:exec,suid,dev,notmpcopyup", req("tmpfs", "", "/t", "exec", "suid", "dev", "notmpcopyup")),
    ("/t:size=abc", req("tmpfs", "", "/t", "size=abc")),          # the kernel judges sizes, at start
    ("/t:rw:ignored", req("tmpfs", "", "/t", "rw")),
])
def test_tmpfs_flag(text, expected):
    assert parse_tmpfs_flag(text) == expected


@pytest.mark.parametrize("text, message", [
    ("t", 'invalid container path "t", must be an absolute path'),
    ("", "container directory cannot be empty"),
    ("/t:bogus", 'unknown mount option "bogus": invalid mount option'),
    ("/t:", 'unknown mount option "": invalid mount option'),
    ("/t:runbindable", 'unknown mount option "runbindable": invalid mount option'),
    ("/t:size=1m,size=2m", "only one tmpfs size can be specified: duplicate mount option passed"),
    ("/t:mode=1777,mode=0700", "only one tmpfs mode can be specified: duplicate mount option passed"),
    ("/t:ro,rw", "only one of 'rw' and 'ro' can be used: duplicate mount option passed"),
    ("/t:exec,noexec", "only one of 'noexec' and 'exec' can be used: duplicate mount option passed"),
    ("/t:suid,nosuid", "only one of 'nosuid' and 'suid' can be used: duplicate mount option passed"),
    ("/t:dev,nodev", "only one of 'nodev' and 'dev' can be used: duplicate mount option passed"),
    ("/t:private,shared", "only one root propagation mode can be used: duplicate mount option passed"),
    ("/t:tmpcopyup,notmpcopyup",
     "the 'tmpcopyup' or 'notmpcopyup' option can only be set once: duplicate mount option passed"),
    ("/t:z", "the 'z' and 'Z' options are not allowed with tmpfs mounts: invalid mount option"),
    ("/t:rbind", "the 'bind' and 'rbind' options are not allowed with tmpfs mounts: invalid mount option"),
])
def test_tmpfs_flag_errors(text, message):
    with pytest.raises(InvalidArgument) as e:
        parse_tmpfs_flag(text)
    assert str(e.value) == message


# -- across requests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [
    [("-v", "/tmp:/data"), ("-v", "v9:/data")],
    [("--tmpfs", "/t"), ("--tmpfs", "/t:size=1m")],
    [("--tmpfs", "/t"), ("-v", "/tmp:/t")],
    [("-v", "/data"), ("--mount", "type=bind,src=/tmp,dst=/data/")],
    [("-v", "/tmp:/data"), ("-v", "/tmp:/data:ro")],
])
def test_duplicate_destinations(flags):
    parse = {"-v": parse_volume_flag, "--mount": parse_mount_flag, "--tmpfs": parse_tmpfs_flag}
    with pytest.raises(InvalidArgument) as e:
        check_duplicates([parse[flag](value) for flag, value in flags])
    assert str(e.value).endswith(": duplicate mount destination")
    assert str(e.value).startswith(("/data:", "/t:"))


def test_repeated_request_is_not_a_duplicate():
    check_duplicates([parse_volume_flag("/tmp:/data"), parse_volume_flag("/tmp:/data"), parse_tmpfs_flag("/t")])


# Podman's HostConfig.Binds / HostConfig.Tmpfs option lists for the same flags.
@pytest.mark.parametrize("request_, inherited, processed", [
    (parse_volume_flag("/tmp:/b1"), frozenset(), ("rw", "rprivate", "rbind")),
    (parse_volume_flag("/tmp:/b2:ro,Z"), frozenset(), ("ro", "Z", "rprivate", "rbind")),
    (parse_volume_flag("/tmp:/b3:rshared,noexec"), frozenset(), ("rshared", "noexec", "rw", "rbind")),
    (parse_volume_flag("/tmp:/u:U,nosuid"), frozenset(), ("U", "nosuid", "rw", "rprivate", "rbind")),
    (parse_volume_flag("/src:/b"), frozenset({"nosuid", "nodev", "noexec"}),
     ("rw", "rprivate", "noexec", "nosuid", "nodev", "rbind")),
    (parse_volume_flag("/src:/b:exec,dev"), frozenset({"nosuid", "nodev", "noexec"}),
     ("exec", "dev", "rw", "rprivate", "nosuid", "rbind")),
    (parse_volume_flag("nv:/n1"), NO_SOURCE_FLAGS, ("rw", "rprivate", "nosuid", "nodev", "rbind")),
    (parse_volume_flag("nv2:/n2:ro,nocopy"), NO_SOURCE_FLAGS, ("ro", "nocopy", "rprivate", "nosuid", "nodev", "rbind")),
    (parse_volume_flag("nv3:/x:exec,bind,slave"), NO_SOURCE_FLAGS, ("exec", "bind", "slave", "rw", "nosuid", "nodev")),
    (parse_mount_flag("type=bind,src=/tmp,dst=/m,readonly"), frozenset(), ("ro", "rprivate", "rbind")),
    (parse_mount_flag("type=bind,src=/tmp,dst=/m,bind-propagation=rslave,ro=false"), frozenset(),
     ("rslave", "rw", "rbind")),
    (parse_tmpfs_flag("/t1"), NO_SOURCE_FLAGS, ("rw", "rprivate", "nosuid", "nodev", "tmpcopyup")),
    (parse_tmpfs_flag("/t2:size=64k,mode=1700"), NO_SOURCE_FLAGS,
     ("size=64k", "mode=1700", "rw", "rprivate", "nosuid", "nodev", "tmpcopyup")),
    (parse_mount_flag("type=tmpfs,dst=/m4,tmpfs-size=1m,tmpfs-mode=1777"), NO_SOURCE_FLAGS,
     ("size=1m", "mode=1777", "rw", "rprivate", "nosuid", "nodev", "tmpcopyup")),
    (parse_tmpfs_flag("/t3:notmpcopyup,noexec"), NO_SOURCE_FLAGS,
     ("notmpcopyup", "noexec", "rw", "rprivate", "nosuid", "nodev")),
])
def test_process_options(request_, inherited, processed):
    assert process_options(request_, inherited) == processed


def test_runtime_options_drop_engine_options():
    processed = ("ro", "Z", "U", "nocopy", "notmpcopyup", "rprivate", "nosuid", "rbind")
    assert runtime_options(processed) == ("ro", "rprivate", "nosuid", "rbind")


# -- volumes as containers use them (otter.engine.volumes) ---------------------------------------------

@pytest.fixture
def eng(tmp_path) -> Engine:
    engine = Engine(StorePaths(str(tmp_path / "root"), str(tmp_path / "run")), storage_driver="vfs", rootless=False)
    yield engine
    engine.close()


def add_container(eng: Engine, cid: str, mounts: list[dict]) -> None:
    """Record a container whose config mounts `mounts`: all `volume_users` looks at."""
    config = ContainerConfig(id=cid, name=f"c-{cid}", image_id="", image_name="", command=["true"], mounts=mounts)
    ContainerState(eng.db).add(Container(config, State.CREATED, RuntimeInfo()))


def volume_dirs(eng: Engine) -> list[str]:
    return sorted(os.listdir(eng.paths.volumes)) if os.path.isdir(eng.paths.volumes) else []


def test_resolve_mounts(eng, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    existing = volumes.volume_create(eng, volumes.VolumeCreateOptions("existing"))
    requests = [parse_volume_flag(f"{src}:/b:ro,Z"), parse_volume_flag("named:/n:nocopy"),
                parse_volume_flag("existing:/e"), parse_volume_flag("/anon"),
                parse_mount_flag(f"type=bind,src={src},dst=/m,bind-propagation=rshared"),
                parse_tmpfs_flag("/t:size=64k"), parse_volume_flag("named:/n:nocopy")]
    specs, records = volumes.resolve_mounts(eng, requests, ["/anon", "/img//data", "/n"])
    names = [v.name for v in volumes.volume_list(eng)]
    assert len(names) == 4 and {"existing", "named"} <= set(names)
    anonymous = sorted(set(names) - {"existing", "named"})
    anon_vol, image_vol = (volumes.get_volume(eng, n) for n in anonymous)
    assert anon_vol.anonymous and image_vol.anonymous
    by_dest = {r["Destination"]: r for r in records}
    assert list(by_dest) == ["/b", "/n", "/e", "/anon", "/m", "/img/data"]   # request order, no tmpfs, no repeat
    flags = volumes._source_flags(str(src))
    assert by_dest["/b"] == {"Type": "bind", "Source": str(src), "Destination": "/b", "Driver": "", "Mode": "Z",
                             "Options": [f for f in ("noexec", "nosuid", "nodev") if f in flags] + ["rbind"],
                             "RW": False, "Propagation": "rprivate"}
    named = volumes.get_volume(eng, "named")
    assert by_dest["/n"] == {"Type": "volume", "Name": "named", "Source": named.mountpoint, "Destination": "/n",
                             "Driver": "local", "Mode": "", "Options": ["nocopy", "nosuid", "nodev", "rbind"],
                             "RW": True, "Propagation": "rprivate", "Anonymous": False}
    assert not named.needs_copy_up           # made for a nocopy mount
    assert existing.needs_copy_up and by_dest["/e"]["Source"] == existing.mountpoint
    assert by_dest["/anon"]["Anonymous"] is True and by_dest["/anon"]["Name"] in anonymous
    assert by_dest["/m"]["Propagation"] == "rshared"
    spec_by_dest = {s.destination: s for s in specs}
    assert spec_by_dest["/t"] == MountSpec("/t", "tmpfs", "tmpfs",
                                           ("size=64k", "rw", "rprivate", "nosuid", "nodev", "tmpcopyup"))
    assert spec_by_dest["/n"] == MountSpec("/n", "bind", named.mountpoint,
                                           ("rw", "rprivate", "nosuid", "nodev", "rbind"))
    assert spec_by_dest["/b"].type == "bind" and spec_by_dest["/b"].source == str(src)
    assert spec_by_dest["/b"].options[:2] == ("ro", "rprivate") and "Z" not in spec_by_dest["/b"].options
    assert len(specs) == 7
    for name in names:
        assert oct(os.stat(volumes.get_volume(eng, name).mountpoint).st_mode & 0o777) == "0o755"


def test_resolve_mounts_checks_before_creating(eng):
    requests = [parse_volume_flag("fresh:/f"), parse_volume_flag("/anon"), parse_volume_flag("/nonexistent/x:/x")]
    with pytest.raises(InvalidArgument) as e:
        volumes.resolve_mounts(eng, requests, ["/img"])
    assert str(e.value) == "statfs /nonexistent/x: no such file or directory"
    assert volumes.volume_list(eng) == [] and volume_dirs(eng) == []


def test_resolve_mounts_duplicate(eng):
    with pytest.raises(InvalidArgument, match="^/d: duplicate mount destination$"):
        volumes.resolve_mounts(eng, [parse_volume_flag("a:/d"), parse_tmpfs_flag("/d")], [])
    assert volumes.volume_list(eng) == []


def test_resolve_mounts_removes_what_it_created_on_failure(eng, monkeypatch):
    real_create = volumes._create
    calls = []

    def failing_create(*args, **kw):
        calls.append(args[1])
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_create(*args, **kw)

    monkeypatch.setattr(volumes, "_create", failing_create)
    with pytest.raises(OSError):
        volumes.resolve_mounts(eng, [parse_volume_flag("first:/a"), parse_volume_flag("second:/b")], [])
    assert calls == ["first", "second"]
    assert volumes.volume_list(eng) == [] and volume_dirs(eng) == []


def make_rootfs(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "data" / "sub").mkdir(parents=True)
    (rootfs / "data" / "file").write_text("image content")
    (rootfs / "data" / "sub" / "deep").write_text("deep")
    os.symlink("file", rootfs / "data" / "link")
    os.chmod(rootfs / "data", 0o750)
    os.symlink("/data", rootfs / "via-link")
    return str(rootfs)


def test_copy_up_first_use_only(eng, tmp_path):
    rootfs = make_rootfs(tmp_path)
    vol = volumes.volume_create(eng, volumes.VolumeCreateOptions("v"))
    volumes.copy_up(eng, "v", rootfs, "/via-link")        # resolved inside the rootfs, not on the host
    data = vol.mountpoint
    assert sorted(os.listdir(data)) == ["file", "link", "sub"]
    assert open(os.path.join(data, "file")).read() == "image content"
    assert os.readlink(os.path.join(data, "link")) == "file"
    assert os.stat(data).st_mode & 0o777 == 0o750          # the volume takes the image directory's mode
    assert not volumes.get_volume(eng, "v").needs_copy_up
    assert volumes.volume_inspect(eng, "v")["NeedsCopyUp"] is False
    os.unlink(os.path.join(data, "file"))
    volumes.copy_up(eng, "v", rootfs, "/data")            # later uses see what the volume holds
    assert sorted(os.listdir(data)) == ["link", "sub"]


def test_copy_up_skips_non_empty_and_nocopy(eng, tmp_path):
    rootfs = make_rootfs(tmp_path)
    full = volumes.volume_create(eng, volumes.VolumeCreateOptions("full"))
    open(os.path.join(full.mountpoint, "mine"), "w").close()
    volumes.copy_up(eng, "full", rootfs, "/data")
    assert os.listdir(full.mountpoint) == ["mine"] and not volumes.get_volume(eng, "full").needs_copy_up
    nocopy = volumes.volume_create(eng, volumes.VolumeCreateOptions("nc", options={"nocopy": ""}))
    volumes.copy_up(eng, "nc", rootfs, "/data")
    assert os.listdir(nocopy.mountpoint) == [] and not volumes.get_volume(eng, "nc").needs_copy_up
    missing = volumes.volume_create(eng, volumes.VolumeCreateOptions("m"))
    volumes.copy_up(eng, "m", rootfs, "/not/in/image")
    assert os.listdir(missing.mountpoint) == []
    with pytest.raises(VolumeNotFound):
        volumes.copy_up(eng, "gone", rootfs, "/data")


def test_remove_anonymous(eng):
    _, records = volumes.resolve_mounts(eng, [parse_volume_flag("/a"), parse_volume_flag("named:/n"),
                                              parse_volume_flag("/shared")], [])
    anon, shared = records[0]["Name"], records[2]["Name"]
    add_container(eng, "c2", [records[2]])                 # another container mounts the third volume
    volumes.remove_anonymous(eng, [r["Name"] for r in records] + ["missing"])
    assert [v.name for v in volumes.volume_list(eng)] == sorted(["named", shared])
    assert anon not in volume_dirs(eng)


def test_in_use_rules(eng):
    _, records = volumes.resolve_mounts(eng, [parse_volume_flag("used:/u"), parse_volume_flag("used:/u2")], [])
    volumes.volume_create(eng, volumes.VolumeCreateOptions("free"))
    add_container(eng, "c1", records)
    assert [v.name for v in volumes.volume_list(eng, ("dangling=true",))] == ["free"]
    assert [v.name for v in volumes.volume_list(eng, ("dangling=false",))] == ["used"]
    report = volumes.volume_remove(eng, ["used"])
    assert report.removed == [] and len(report.errors) == 1 and isinstance(report.errors[0], InUse)
    assert str(report.errors[0]) == "volume used is being used by the following container(s): c1: volume is being used"
    assert volumes.volume_prune(eng) == ["free"]
    assert [v.name for v in volumes.volume_list(eng)] == ["used"]


def test_create_errors_leave_nothing(eng):
    volumes.volume_create(eng, volumes.VolumeCreateOptions("v"))
    with pytest.raises(AlreadyExists, match="^volume with name v already exists: volume already exists$"):
        volumes.volume_create(eng, volumes.VolumeCreateOptions("v"))
    assert volumes.volume_create(eng, volumes.VolumeCreateOptions("v", ignore_if_exists=True)).name == "v"
    for opts, message in [
        (volumes.VolumeCreateOptions("bad/name"),
         "running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"),
        (volumes.VolumeCreateOptions("x", options={"bogus": "1"}),
         "invalid mount option bogus for driver 'local': invalid argument"),
        (volumes.VolumeCreateOptions("x", options={"type": "tmpfs"}),
         "volume option type is not supported by otter yet"),
        (volumes.VolumeCreateOptions("x", driver="nope"),
         "volume x uses volume plugin nope but it could not be retrieved: "
         "no volume plugin with name nope available: required plugin missing"),
    ]:
        with pytest.raises(InvalidArgument) as e:
            volumes.volume_create(eng, opts)
        assert str(e.value) == message
    assert [v.name for v in volumes.volume_list(eng)] == ["v"] and volume_dirs(eng) == ["v"]
