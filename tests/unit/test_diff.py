"""Layer diffs: change lists and layer tars from hand-made overlay upper dirs and full trees.

Whiteouts (0:0 character devices) need no privilege since Linux 5.8; the opaque xattr is
`trusted.overlay.opaque` as root and `user.overlay.opaque` otherwise, as the overlay
snapshotter writes it.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from otter.storage import diff
from otter.storage.unpack import ApplyOptions, apply_tar

ROOT = os.getuid() == 0
PREFIX = "trusted." if ROOT else "user."


def write(path, data: bytes = b"x", mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def whiteout(path) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def opaque_dir(path) -> None:
    os.makedirs(path, exist_ok=True)
    os.setxattr(path, PREFIX + "overlay.opaque", b"y")


def layer_tar(upper, lowers, exclude=()) -> bytes:
    out = io.BytesIO()
    diff.write_layer_tar(str(upper), [str(d) for d in lowers], out, PREFIX, exclude)
    return out.getvalue()


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name + ("/" if m.isdir() else ""): m for m in tar.getmembers()}


@pytest.fixture
def example(tmp_path):
    """mechanics.md 3.3/3.4: two image layers, and the upper dir after `rm keep; rm -rf a;
    mkdir a; touch a/n; append d/z; create new2`."""
    l1, l2, upper = tmp_path / "l1", tmp_path / "l2", tmp_path / "upper"
    for name in ("a/file1", "a/file2", "a/owned1000", "d/x", "d/y", "keep"):
        write(l1 / name)
    if ROOT:
        os.chown(l1 / "a/owned1000", 1000, 1000)
    whiteout(l2 / "a/file1")
    opaque_dir(l2 / "d")
    write(l2 / "d/z", b"z")
    write(l2 / "new")
    upper.mkdir()
    whiteout(upper / "keep")
    opaque_dir(upper / "a")
    write(upper / "a/n", b"")
    os.mkdir(upper / "d")
    # What overlay leaves on copied-up entries; it must not reach the tar.
    os.setxattr(upper / "d", PREFIX + "overlay.impure", b"y")
    write(upper / "d/z", b"z+appended")
    os.setxattr(upper / "d/z", PREFIX + "overlay.origin", b"\x00\xfb")
    os.setxattr(upper / "d/z", "user.kept", b"value")
    write(upper / "new2")
    return upper, [l2, l1]


def test_mechanics_example_tar(example):
    upper, lowers = example
    entries = members(layer_tar(upper, lowers))
    assert set(entries) == {"a/", "a/.wh..wh..opq", "d/", ".wh.keep", "new2", "a/n", "d/z"}
    assert entries[".wh.keep"].isreg() and entries[".wh.keep"].size == 0
    assert entries["d/z"].pax_headers.get("SCHILY.xattr.user.kept") == "value"
    for m in entries.values():
        assert not any(".overlay." in key for key in m.pax_headers), m.name


def test_mechanics_example_changes(example):
    upper, lowers = example
    assert diff.changes(str(upper), [str(d) for d in lowers], PREFIX) == [
        ("C", "/a"), ("D", "/a/file2"), ("D", "/a/owned1000"), ("A", "/a/n"),
        ("C", "/d"), ("C", "/d/z"), ("D", "/keep"), ("A", "/new2")]


def test_tar_applied_in_overlay_form_gives_back_the_upper_dir(example, tmp_path):
    upper, lowers = example
    staged = tmp_path / "staged"
    staged.mkdir()
    apply_tar(io.BytesIO(layer_tar(upper, lowers)), str(staged), ApplyOptions(whiteouts="overlay", xattr_prefix=PREFIX))
    assert diff.is_whiteout(os.lstat(staged / "keep"))
    assert os.getxattr(staged / "a", PREFIX + "overlay.opaque") == b"y"
    assert PREFIX + "overlay.opaque" not in os.listxattr(staged / "d")
    assert (staged / "d/z").read_bytes() == b"z+appended"
    assert os.getxattr(staged / "d/z", "user.kept") == b"value"


def test_tar_is_deterministic_and_parents_come_first(example):
    upper, lowers = example
    first = layer_tar(upper, lowers)
    assert first == layer_tar(upper, lowers)
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        names = tar.getnames()
    assert names == ["a", "a/.wh..wh..opq", "a/n", "d", "d/z", ".wh.keep", "new2"]


def test_new_opaque_directory_gets_no_marker(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "old")
    opaque_dir(upper / "fresh")
    write(upper / "fresh/f")
    assert set(members(layer_tar(upper, [lower]))) == {"fresh/", "fresh/f"}
    assert diff.changes(str(upper), [str(lower)], PREFIX) == [("A", "/fresh"), ("A", "/fresh/f")]


def test_whiteout_of_nothing_is_dropped(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "kept")
    whiteout(upper / "never-existed")
    assert members(layer_tar(upper, [lower])) == {}
    assert diff.changes(str(upper), [str(lower)], PREFIX) == []


def test_lower_whiteouts_and_opaque_dirs_decide_what_existed(tmp_path):
    l1, l2, upper = tmp_path / "l1", tmp_path / "l2", tmp_path / "upper"
    write(l1 / "gone")
    write(l1 / "dir/hidden")
    write(l1 / "dir/shown")
    whiteout(l2 / "gone")
    opaque_dir(l2 / "dir")
    write(l2 / "dir/shown")
    write(upper / "gone")          # deleted in l2: made again, so added
    write(upper / "dir/hidden")    # hidden by l2's opaque dir: added
    write(upper / "dir/shown")     # visible below: changed
    assert diff.changes(str(upper), [str(l2), str(l1)], PREFIX) == [
        ("C", "/dir"), ("A", "/dir/hidden"), ("C", "/dir/shown"), ("A", "/gone")]


def test_file_replacing_a_lower_directory(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "thing/inside")
    write(upper / "thing")
    assert diff.changes(str(upper), [str(lower)], PREFIX) == [("C", "/thing")]


def test_unchanged_copied_up_directory_is_not_listed(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    os.makedirs(lower / "etc")
    os.makedirs(upper / "etc")
    assert diff.changes(str(upper), [str(lower)], PREFIX) == []
    os.chmod(upper / "etc", 0o700)
    assert diff.changes(str(upper), [str(lower)], PREFIX) == [("C", "/etc")]


def test_exclude_hides_paths_and_their_parents_changes(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    os.makedirs(lower / "etc")
    os.makedirs(lower / "run")
    write(upper / "etc/hosts", b"")
    write(upper / "run/.containerenv", b"")
    write(upper / "run/mine")
    exclude = {"/etc/hosts", "/run", "/run/.containerenv"}
    assert diff.changes(str(upper), [str(lower)], PREFIX, exclude) == [("A", "/run/mine")]
    assert set(members(layer_tar(upper, [lower], exclude))) == {"etc/", "run/mine"}


def test_hard_links_ownership_and_special_files(tmp_path):
    upper = tmp_path / "upper"
    write(upper / "a", b"shared")
    os.link(upper / "a", upper / "b")
    os.symlink("/etc/passwd", upper / "link")
    os.mkfifo(upper / "fifo")
    if ROOT:
        os.chown(upper / "a", 1000, 2000)
        os.mknod(upper / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    entries = members(layer_tar(upper, []))
    assert entries["a"].isreg() and entries["a"].size == 6
    assert entries["b"].islnk() and entries["b"].linkname == "a"
    assert entries["link"].issym() and entries["link"].linkname == "/etc/passwd"
    assert entries["fifo"].isfifo()
    if ROOT:
        assert (entries["a"].uid, entries["a"].gid) == (1000, 2000)
        assert entries["null"].ischr() and (entries["null"].devmajor, entries["null"].devminor) == (1, 3)


@pytest.mark.skipif(not ROOT, reason="security.* xattrs need CAP_SYS_ADMIN")
def test_capabilities_travel_as_pax_xattrs(tmp_path):
    upper = tmp_path / "upper"
    write(upper / "ping", b"\x7fELF", 0o755)
    cap = bytes.fromhex("0100000200200000000000000000000000000000")   # v2: cap_net_raw permitted
    os.setxattr(upper / "ping", "security.capability", cap)
    data = layer_tar(upper, [])
    header = members(data)["ping"].pax_headers["SCHILY.xattr.security.capability"]
    assert header.encode("utf-8", "surrogateescape") == cap
    target = tmp_path / "target"
    target.mkdir()
    apply_tar(io.BytesIO(data), str(target))
    assert os.getxattr(target / "ping", "security.capability") == cap


def test_file_data_through_a_descriptor(tmp_path):
    upper = tmp_path / "upper"
    payload = os.urandom(3 * 1024 * 1024 + 17)
    write(upper / "big", payload)
    with open(tmp_path / "out.tar", "wb") as f:
        diff.write_layer_tar(str(upper), [], f.fileno(), PREFIX)
    with tarfile.open(tmp_path / "out.tar") as tar:
        assert tar.extractfile("big").read() == payload


# -- full trees (vfs) -------------------------------------------------------------------------

@pytest.fixture
def trees(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for root in (old, new):
        write(root / "same", b"same")
        write(root / "etc/passwd", b"root")
        write(root / "var/lib/data/a", b"a")
        os.symlink("target", root / "link")
    for path in ("same", "etc/passwd", "var/lib/data/a", "etc", "var/lib/data", "var/lib", "var"):
        st = os.lstat(old / path)
        os.utime(new / path, ns=(st.st_atime_ns, st.st_mtime_ns))
    write(new / "etc/passwd", b"root+user")
    write(new / "etc/new", b"n")
    import shutil
    shutil.rmtree(new / "var/lib/data")
    os.unlink(new / "link")
    os.symlink("elsewhere", new / "link")
    return new, old


def test_compare_full_trees(trees):
    new, old = trees
    assert diff.changes_by_compare(str(new), str(old)) == [
        ("C", "/etc"), ("A", "/etc/new"), ("C", "/etc/passwd"), ("C", "/link"),
        ("C", "/var"), ("C", "/var/lib"), ("D", "/var/lib/data")]


def test_compare_against_nothing_adds_everything(trees):
    new, _ = trees
    found = diff.changes_by_compare(str(new), None)
    assert all(kind == "A" for kind, _ in found)
    assert ("A", "/etc/new") in found and ("A", "/var/lib") in found


def test_changes_tar_turns_old_tree_into_new(trees, tmp_path):
    new, old = trees
    found = diff.changes_by_compare(str(new), str(old))
    out = io.BytesIO()
    diff.write_changes_tar(str(new), found, out)
    assert set(members(out.getvalue())) == {"etc/", "etc/new", "etc/passwd", "link", "var/", "var/lib/",
                                            "var/lib/.wh.data"}
    apply_tar(io.BytesIO(out.getvalue()), str(old), ApplyOptions(whiteouts="delete"))
    assert diff.changes_by_compare(str(new), str(old)) == []


# -- whole trees ------------------------------------------------------------------------------

def test_walk_tree_names_and_order(tmp_path):
    write(tmp_path / "src/b", b"")
    write(tmp_path / "src/a/z", b"")
    assert [n for n, _, _ in diff.walk_tree(str(tmp_path / "src"), "top")] == ["top", "top/a", "top/a/z", "top/b"]
    assert [n for n, _, _ in diff.walk_tree(str(tmp_path / "src"), "")] == ["a", "a/z", "b"]


def test_tar_stream_owner_override(tmp_path):
    write(tmp_path / "f")
    out = io.BytesIO()
    tar = diff.TarStream(out, owner=(7, 8))
    tar.add_path("f", str(tmp_path / "f"))
    tar.close()
    m = members(out.getvalue())["f"]
    assert (m.uid, m.gid) == (7, 8)


def test_tar_stream_rewrites_members_read_from_another_tar(tmp_path):
    long_name = "deep/" + "n" * 150
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(long_name)
        info.size, info.uid = 4, 3000000          # both only expressible as PAX records
        info.pax_headers = {"SCHILY.xattr.user.k": "v"}
        tar.addfile(info, io.BytesIO(b"data"))
    source.seek(0)
    out = io.BytesIO()
    stream = diff.TarStream(out, owner=(5, 6))
    with tarfile.open(fileobj=source, mode="r|") as tar:
        for member in tar:
            member.name = "prefix/" + member.name
            stream.add(member, tar.extractfile(member))
    stream.close()
    m = members(out.getvalue())["prefix/" + long_name]
    assert (m.uid, m.gid, m.size) == (5, 6, 4)
    assert m.pax_headers["SCHILY.xattr.user.k"] == "v"


# -- what fuse-overlayfs writes into an upper dir (drivers/fuse_overlayfs.py) ------------------------

def fuse_example(upper, whiteout_files: bool) -> None:
    """The mechanics example's upper dir as fuse-overlayfs 1.10 writes it: the opaque `a` also
    carries its xattr (`trusted.overlay.opaque` as root, `user.fuseoverlayfs.opaque` in a
    user namespace), a `.wh..wh..opq` file and a 0:0 `.wh..opq`; with `whiteout_files` the
    deletion of `keep` is a `.wh.keep` file (where mknod is refused) instead of a device."""
    if whiteout_files:
        os.unlink(upper / "keep")
        write(upper / ".wh.keep", b"", 0o600)
    os.removexattr(upper / "a", PREFIX + "overlay.opaque")
    os.setxattr(upper / "a", "trusted.overlay.opaque" if ROOT else "user.fuseoverlayfs.opaque", b"y")
    write(upper / "a/.wh..wh..opq", b"", 0o700)
    whiteout(upper / "a/.wh..opq")


@pytest.mark.parametrize("whiteout_files", [False, True])
def test_fuse_overlayfs_upper_dir(example, whiteout_files):
    upper, lowers = example
    fuse_example(upper, whiteout_files)
    assert diff.changes(str(upper), [str(d) for d in lowers], PREFIX) == [
        *([("D", "/keep")] if whiteout_files else []),
        ("C", "/a"), ("D", "/a/file2"), ("D", "/a/owned1000"), ("A", "/a/n"),
        ("C", "/d"), ("C", "/d/z"), *([] if whiteout_files else [("D", "/keep")]), ("A", "/new2")]
    entries = members(layer_tar(upper, lowers))
    assert set(entries) == {"a/", "a/.wh..wh..opq", "d/", ".wh.keep", "new2", "a/n", "d/z"}
    for m in entries.values():
        assert not any("overlay" in key for key in m.pax_headers), m.name


def test_fuse_overlayfs_whiteout_file_in_opaque_directory_is_one_deletion(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "d/x")
    write(lower / "d/y")
    opaque_dir(upper / "d")
    write(upper / "d/.wh.x", b"", 0o600)
    write(upper / "d/y", b"again")
    assert diff.changes(str(upper), [str(lower)], PREFIX) == [("C", "/d"), ("D", "/d/x"), ("C", "/d/y")]
