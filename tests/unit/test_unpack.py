"""The layer applier: safe extraction of hostile tars, whiteouts, ownership and modes."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from otter.errors import CorruptContent, UnsafeContent
from otter.storage.unpack import ApplyOptions, apply_tar
from tests.tarbuild import directory, entry, file, hardlink, make_tar, symlink

ROOT = os.getuid() == 0


@pytest.fixture
def dirs(tmp_path):
    target = tmp_path / "layer"
    outside = tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("host data")
    return target, outside


def apply(target, data: bytes, **opts):
    apply_tar(io.BytesIO(data), str(target), ApplyOptions(**opts))


def test_regular_files_dirs_and_symlinks(dirs):
    target, _ = dirs
    apply(target, make_tar(directory("etc"), file("etc/hostname", b"box\n"), symlink("bin", "usr/bin"),
                           file("usr/bin/tool", b"#!", mode=0o755)))
    assert (target / "etc/hostname").read_bytes() == b"box\n"
    assert os.readlink(target / "bin") == "usr/bin"
    assert stat.S_IMODE(os.stat(target / "usr/bin/tool").st_mode) == 0o755


def test_dotdot_escape_is_refused(dirs):
    target, outside = dirs
    with pytest.raises(UnsafeContent):
        apply(target, make_tar(file("../outside/pwned", b"evil")))
    assert not (outside / "pwned").exists()
    assert not (target.parent / "outside" / "pwned").exists()


def test_dotdot_that_stays_inside_is_fine(dirs):
    target, _ = dirs
    apply(target, make_tar(file("a/../b", b"ok")))
    assert (target / "b").read_bytes() == b"ok"


def test_absolute_names_are_rerooted(dirs):
    target, outside = dirs
    apply(target, make_tar(file(str(outside / "pwned"), b"evil")))
    assert not (outside / "pwned").exists()
    assert (target / str(outside).lstrip("/") / "pwned").read_bytes() == b"evil"


@pytest.mark.parametrize("link_target", ["ABS", "../../..", "/"])
def test_writing_through_a_symlink_stays_inside(dirs, link_target):
    target, outside = dirs
    link_target = str(outside) if link_target == "ABS" else link_target
    apply(target, make_tar(symlink("link", link_target), file("link/pwned", b"evil")))
    assert not (outside / "pwned").exists()
    found = [os.path.join(d, f) for d, _, fs in os.walk(target) for f in fs if f == "pwned"]
    assert len(found) == 1 and found[0].startswith(str(target) + "/")


def test_file_replaces_symlink_instead_of_following_it(dirs):
    target, outside = dirs
    apply(target, make_tar(symlink("x", str(outside / "secret")), file("x", b"new")))
    assert (outside / "secret").read_text() == "host data"
    assert not os.path.islink(target / "x")
    assert (target / "x").read_bytes() == b"new"


def test_hardlink_escaping_with_dotdot_is_refused(dirs):
    target, outside = dirs
    with pytest.raises(UnsafeContent):
        apply(target, make_tar(hardlink("h", "../outside/secret")))
    assert os.stat(outside / "secret").st_nlink == 1


@pytest.mark.parametrize("linkname", ["ABS", "link/secret"])
def test_hardlink_cannot_reach_host_files(dirs, linkname):
    target, outside = dirs
    linkname = str(outside / "secret") if linkname == "ABS" else linkname
    with pytest.raises(CorruptContent):
        apply(target, make_tar(symlink("link", str(outside)), hardlink("h", linkname)))
    assert os.stat(outside / "secret").st_nlink == 1


def test_hardlink_inside_layer(dirs):
    target, _ = dirs
    apply(target, make_tar(file("a", b"data"), hardlink("b", "a")))
    assert os.stat(target / "a").st_ino == os.stat(target / "b").st_ino


def test_entry_under_a_file_is_corrupt(dirs):
    target, _ = dirs
    with pytest.raises(CorruptContent):
        apply(target, make_tar(file("a"), file("a/b")))


def test_truncated_tar_is_corrupt(dirs):
    target, _ = dirs
    data = make_tar(file("big", b"x" * 100000))
    with pytest.raises(CorruptContent):
        apply(target, data[:20000])


def test_garbage_is_corrupt(dirs):
    target, _ = dirs
    with pytest.raises(CorruptContent):
        apply(target, b"this is not a tar archive at all" * 40)


@pytest.mark.skipif(not ROOT, reason="ownership and device nodes need root")
def test_setuid_survives_chown(dirs):
    target, _ = dirs
    apply(target, make_tar(file("bin/su", b"x", mode=0o4755, uid=1000, gid=1000)))
    st = os.stat(target / "bin/su")
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    assert stat.S_IMODE(st.st_mode) == 0o4755


@pytest.mark.skipif(not ROOT, reason="device nodes need root")
def test_device_nodes_created_as_root_and_skipped_when_not_permitted(dirs, tmp_path):
    target, _ = dirs
    data = make_tar(entry("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666))
    apply(target, data)
    st = os.lstat(target / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    other = tmp_path / "other"
    other.mkdir()
    apply(other, data, devices=False)
    assert not (other / "dev/null").exists()


@pytest.mark.skipif(not ROOT, reason="trusted.* xattrs need root")
def test_overlay_whiteouts(dirs):
    target, _ = dirs
    apply(target, make_tar(directory("a"), file("a/.wh.gone"), directory("d"), file("d/.wh..wh..opq"),
                           file("d/kept", b"1")))
    st = os.lstat(target / "a/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(target / "d", "trusted.overlay.opaque") == b"y"
    assert not (target / "d/.wh..wh..opq").exists()


def test_user_xattr_opaque_for_rootless(dirs):
    target, _ = dirs
    apply(target, make_tar(directory("d"), file("d/.wh..wh..opq")), xattr_prefix="user.", chown=False)
    assert os.getxattr(target / "d", "user.overlay.opaque") == b"y"


def test_delete_mode_whiteouts(dirs):
    target, _ = dirs
    (target / "a").mkdir()
    (target / "a/gone").write_text("x")
    (target / "a/stay").write_text("x")
    (target / "d").mkdir()
    (target / "d/old").write_text("x")
    apply(target, make_tar(file("d/new", b"n"), file("a/.wh.gone"), file("d/.wh..wh..opq")), whiteouts="delete")
    assert sorted(os.listdir(target / "a")) == ["stay"]
    assert sorted(os.listdir(target / "d")) == ["new"]


def test_whiteout_cannot_delete_outside(dirs):
    target, outside = dirs
    with pytest.raises(UnsafeContent):
        apply(target, make_tar(file("../outside/.wh.secret")), whiteouts="delete")
    apply(target, make_tar(symlink("l", str(outside)), file("l/.wh.secret")), whiteouts="delete")
    assert (outside / "secret").exists()


def test_xattrs_from_pax_headers(dirs):
    target, _ = dirs
    apply(target, make_tar(file("f", pax={"SCHILY.xattr.user.note": "hello"})))
    assert os.getxattr(target / "f", "user.note") == b"hello"


def test_directory_mode_and_mtime_applied_after_children(dirs):
    target, _ = dirs
    apply(target, make_tar(directory("ro", mode=0o555), file("ro/f")))
    st = os.stat(target / "ro")
    assert stat.S_IMODE(st.st_mode) == 0o555
    assert int(st.st_mtime) == 1700000000
