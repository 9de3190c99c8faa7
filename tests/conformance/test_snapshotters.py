"""One suite, every snapshotter: layers applied through LayerStore, snapshots prepared and
mounted from the returned mount descriptions, merged views checked. "fuse-overlayfs" is the
overlay snapshotter with fuse-overlayfs as its mount program."""

from __future__ import annotations

import io
import os

import pytest

from otter.db import Database
from otter.drivers import fuse_overlayfs
from otter.errors import CorruptContent, UnsafeContent
from otter.paths import StorePaths
from otter.storage.layers import LayerStore, chain_id, layer_key
from otter.storage.mounter import mount_all, unmount
from otter.storage.snapshot import snapshotter
from otter.sys.mount import mount_type
from tests.tarbuild import directory, file, make_tar

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="mounting needs root (rootless runs in its own pass)")

L1 = make_tar(directory("a"), file("a/file1", b"1"), file("a/file2", b"2"), directory("d"), file("d/x"),
              file("d/y"), file("keep", b"k"))
L2 = make_tar(file("a/.wh.file1"), directory("d"), file("d/.wh..wh..opq"), file("d/z", b"z"), file("new", b"n"))


@pytest.fixture(params=["overlay", "vfs", "fuse-overlayfs"])
def store(request, tmp_path):
    paths = StorePaths(str(tmp_path / "root"), str(tmp_path / "run"))
    if request.param == "fuse-overlayfs":
        if fuse_overlayfs.find() is None:
            pytest.skip("fuse-overlayfs is not installed")
        snap = snapshotter("overlay", paths, mount_program=fuse_overlayfs.find())
    else:
        snap = snapshotter(request.param, paths)
    db = Database(paths.database, paths.database_lock)
    yield LayerStore(db, snap)
    db.close()


def tree(root: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out += [os.path.normpath(os.path.join(rel, n)) for n in filenames]
    return sorted(out)


@pytest.fixture
def mounted(store):
    active = []

    def mount(key, top):
        snap = store.snapshotter
        mounts = snap.prepare(key, store.chain_keys(top))
        target = snap.mountpoint(key)
        mount_all(mounts, target)
        active.append(target)
        return target
    yield mount
    for target in active:
        if mount_type(target):
            unmount(target)


def test_chain_ids_and_sharing(store):
    l1, comp = store.apply(None, io.BytesIO(L1))
    assert comp == "none"
    assert l1.id == l1.diff_id and l1.parent is None and l1.size == len(L1)
    l2, _ = store.apply(l1, io.BytesIO(L2))
    assert l2.id == chain_id(l1.id, l2.diff_id) and l2.parent == l1.id
    again, _ = store.apply(None, io.BytesIO(L1))
    assert again == l1
    assert [layer.id for layer in store.chain(l2.id)] == [l2.id, l1.id]


def test_merged_view_applies_whiteouts(store, mounted):
    l1, _ = store.apply(None, io.BytesIO(L1))
    l2, _ = store.apply(l1, io.BytesIO(L2))
    root = mounted("c1", l2.id)
    assert tree(root) == ["a/file2", "d/z", "keep", "new"]
    assert open(os.path.join(root, "d/z"), "rb").read() == b"z"


def test_snapshot_writes_land_in_upper_only(store, mounted):
    l1, _ = store.apply(None, io.BytesIO(L1))
    root = mounted("c2", l1.id)
    with open(os.path.join(root, "written"), "w") as f:
        f.write("w")
    os.unlink(os.path.join(root, "keep"))
    assert "written" in os.listdir(store.snapshotter.upper_dir("c2"))
    layer_dir = store.snapshotter.layer_dir(layer_key(l1.id))
    assert "keep" in os.listdir(os.path.join(layer_dir, "diff"))
    assert "written" not in os.listdir(os.path.join(layer_dir, "diff"))


def test_gzip_layer(store):
    import gzip
    layer, comp = store.apply(None, io.BytesIO(gzip.compress(L1)))
    assert comp == "gzip"
    assert layer.diff_id == chain_id(None, layer.diff_id) and layer.size == len(L1)


def test_wrong_diff_id_leaves_nothing(store):
    with pytest.raises(CorruptContent):
        store.apply(None, io.BytesIO(L1), expected_diff_id="sha256:" + "0" * 64)
    assert store.all_ids() == []
    assert not os.listdir(store.snapshotter.paths.staging(store.snapshotter.name))


def test_hostile_layer_leaves_nothing(store):
    with pytest.raises(UnsafeContent):
        store.apply(None, io.BytesIO(make_tar(file("ok"), file("../../escape"))))
    assert store.all_ids() == []
    assert not os.listdir(store.snapshotter.paths.staging(store.snapshotter.name))


def test_remove_layer(store):
    l1, _ = store.apply(None, io.BytesIO(L1))
    store.remove(l1.id)
    assert store.get(l1.id) is None
    assert not store.snapshotter.has_layer(layer_key(l1.id))


def test_deletions_survive_a_remount(store, mounted):
    l1, _ = store.apply(None, io.BytesIO(L1))
    root = mounted("c3", l1.id)
    os.unlink(os.path.join(root, "keep"))
    for name in os.listdir(os.path.join(root, "a")):
        os.unlink(os.path.join(root, "a", name))
    os.rmdir(os.path.join(root, "a"))
    os.mkdir(os.path.join(root, "a"))
    open(os.path.join(root, "a/n"), "w").close()
    os.unlink(os.path.join(root, "d/x"))
    unmount(root)
    assert mount_type(root) is None
    mount_all(store.snapshotter.mounts("c3", store.chain_keys(l1.id)), root)
    assert tree(root) == ["a/n", "d/y"]


def test_unmount_leaves_no_mount_and_no_process(store, mounted):
    l1, _ = store.apply(None, io.BytesIO(L1))
    root = mounted("c4", l1.id)
    assert mount_type(root) is not None
    fuse = bool(store.snapshotter.settings().get("mount_program"))
    assert bool(fuse_overlayfs.daemons(root)) == fuse
    unmount(root)
    assert mount_type(root) is None
    assert fuse_overlayfs.daemons(root) == []
