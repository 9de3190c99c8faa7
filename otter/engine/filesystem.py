"""Container file system verbs: diff, export, cp and commit.

Vocabulary:
  rootfs       a container's root filesystem as it sees it: its snapshot mounted on the
               snapshotter's mountpoint. Mounted while the container runs; `export` and
               `cp` mount it for their own duration otherwise (holding the container lock,
               so a start or cleanup cannot mount or unmount it under them).
  changes      what a container's snapshot changed against its image (`storage.diff`):
               an overlay upper dir against the image's layers, or a vfs full copy against
               the image's top layer, chosen by the snapshotter's name.
  init paths   the mount points otter and runc make in every container (`/etc/hosts`,
               `/run/.containerenv`, `/proc`, ...). They are not the user's changes: `diff`
               does not list them and `commit` does not keep them (Podman lists the same set).
  side         one end of a copy: the host (root `/`) or a container (root: its rootfs).
               Paths on a side resolve as that side's processes would see them
               (`resolve_in_root`), so a container's symlink to `/etc` means the container's
               `/etc`, never the host's.

Copies follow Podman (`podman cp`): the source is followed through symlinks; `SRC/.` copies
a directory's contents; a destination that is an existing directory receives the source
under its own name, an existing file is overwritten, and a missing path is created (its
parent must exist). A copy travels as a tar stream from a producer thread into
`storage.unpack.apply_tar` on the destination side, with the side's root as the
extraction root, so no entry can land outside it. A running container is paused while
files are copied in or out, so its processes cannot move things under the copy.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from otter import log
from otter.core.container import Container, State
from otter.engine.containers import lookup
from otter.engine.context import Engine
from otter.engine.lifecycle import INIT_PATH, lock, mount_rootfs, pause, unmount_rootfs, unpause
from otter.errors import ContainerNotFound, ImageNotFound, InvalidArgument, NotFound, OtterError
from otter.image.store import ImageRecord
from otter.record import record
from otter.storage import diff
from otter.storage.unpack import WHITEOUT_PREFIX, ApplyOptions, apply_tar
from otter.sys.mount import is_mountpoint
from otter.sys.safepath import clean_member_name, resolve_in_root

INIT_PATHS = frozenset({"/dev", "/etc/hostname", "/etc/hosts", "/etc/mtab", "/etc/resolv.conf", "/proc", "/run",
                        "/run/.containerenv", "/run/notify", "/run/secrets", "/sys", INIT_PATH})

T = TypeVar("T")


# -- what a snapshot changed ----------------------------------------------------------------

@record
class _Snapshot:
    """A snapshot (or image layer) and the layers it changes, as the snapshotter keeps them."""

    driver: str
    top: str                  # overlay: the directory of changes; vfs: the complete tree
    below: tuple[str, ...]    # the layer directories underneath, topmost first
    xattr_prefix: str
    exclude: frozenset[str]
    ids: diff.IdTranslation | None = None   # a container's own user namespace (`_archive_ids`)

    def changes(self) -> list[diff.Change]:
        if self.driver == "vfs":
            return diff.changes_by_compare(self.top, self.below[0] if self.below else None, self.exclude)
        return diff.changes(self.top, self.below, self.xattr_prefix, self.exclude)

    def write_tar(self, out: int, found: list[diff.Change]) -> None:
        """The layer tar of the changes. `found` is what `changes` returned: a vfs tar holds
        exactly those entries; an overlay tar is the upper dir itself, walked again."""
        if self.driver == "vfs":
            diff.write_changes_tar(self.top, found, out, self.ids)
        else:
            diff.write_layer_tar(self.top, self.below, out, self.xattr_prefix, self.exclude, self.ids)


def _layer_content(eng: Engine, key: str) -> str:
    snap = eng.snapshotter
    return snap.content_dir(snap.layer_dir(key))


def _snapshot(eng: Engine, top: str, below_keys: list[str], exclude: frozenset[str],
              ids: diff.IdTranslation | None = None) -> _Snapshot:
    below = tuple(_layer_content(eng, key) for key in below_keys)
    return _Snapshot(eng.snapshotter.name, top, below, eng.snapshotter.apply_options.xattr_prefix, exclude, ids)


def _archive_ids(ctr: Container) -> diff.IdTranslation | None:
    """How archives record the ownership of the container's files: as on disk, unless the
    container has its own user namespace, whose ids they then record (as Podman does)."""
    if not ctr.config.uid_map:
        return None
    from otter.engine.idmapping import archive_ids
    return archive_ids(ctr.config)


def _container_snapshot(eng: Engine, ctr: Container, image: ImageRecord | None) -> _Snapshot:
    keys = eng.layers.chain_keys(image.top_layer if image else None)
    return _snapshot(eng, eng.snapshotter.upper_dir(ctr.id), keys, INIT_PATHS, _archive_ids(ctr))


def container_diff(eng: Engine, name: str) -> list[diff.Change]:
    """What container `name` changed against its image or, for an image, what its top layer
    changed against the layers below (an image without layers changed nothing)."""
    try:
        ctr = lookup(eng, name)
        return _container_snapshot(eng, ctr, eng.images.get(ctr.config.image_id)).changes()
    except ContainerNotFound:
        pass
    try:
        rec = eng.images.lookup(name)
    except ImageNotFound:
        raise NotFound(f"no container or image with name or ID \"{name}\" found: no such object") from None
    keys = eng.layers.chain_keys(rec.top_layer)
    if not keys:
        return []
    return _snapshot(eng, _layer_content(eng, keys[0]), keys[1:], frozenset()).changes()


# -- the rootfs, pausing, streaming ------------------------------------------------------------

@contextlib.contextmanager
def _mounted(eng: Engine, ctr: Container) -> Iterator[str]:
    """The container's rootfs mountpoint, mounted while the block runs."""
    with lock(eng, ctr.id):
        target = eng.snapshotter.mountpoint(ctr.id)
        mounted_before = is_mountpoint(target)
        mount_rootfs(eng, ctr)
        try:
            yield target
        finally:
            if not mounted_before:
                unmount_rootfs(eng, ctr.id)


@contextlib.contextmanager
def _paused(eng: Engine, ctr: Container, wanted: bool = True) -> Iterator[None]:
    """Freeze a running container's processes while the block runs (where the runtime cannot,
    e.g. rootless on cgroup v1, say so and go on)."""
    frozen = False
    if wanted and ctr.state == State.RUNNING:
        try:
            pause(eng, ctr)
            frozen = True
        except OtterError as e:
            log.warning(f"cannot pause container {ctr.name}, going on while it runs: {e}")
    try:
        yield
    finally:
        if frozen:
            try:
                unpause(eng, ctr)
            except OtterError as e:
                # It exited meanwhile, or someone else unpaused it: nothing to give back.
                log.warning(f"unpausing container {ctr.name}: {e}")


def _through_pipe(produce: Callable[[int], None], consume: Callable[[BinaryIO], T]) -> T:
    """Run `produce(fd)` (a tar writer) in a thread and `consume(reader)` (a tar reader) here,
    joined by a pipe, so nothing is held whole. When the producer failed, its error is the
    one raised: the consumer only saw a truncated stream."""
    read_fd, write_fd = os.pipe()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            produce(write_fd)
        except BrokenPipeError:
            pass   # the consumer stopped reading; its own outcome decides
        except BaseException as e:  # noqa: BLE001 - handed over to the calling thread
            failed.append(e)
        finally:
            os.close(write_fd)

    thread = threading.Thread(target=run, name="otter-tar", daemon=True)
    thread.start()
    try:
        with os.fdopen(read_fd, "rb") as reader:
            result = consume(reader)
    except BaseException:
        thread.join()
        if failed:
            raise failed[0] from None
        raise
    thread.join()
    if failed:
        raise failed[0]
    return result


# -- export ------------------------------------------------------------------------------------

def container_export(eng: Engine, name: str, out: int) -> None:
    """Write a tar of the container's whole root filesystem to descriptor `out`."""
    ctr = lookup(eng, name)
    with _mounted(eng, ctr) as rootfs:
        diff.write_tree_tar(rootfs, "", out, _archive_ids(ctr))


# -- cp ----------------------------------------------------------------------------------------

@record
class _Side:
    root: str       # "/" for the host, the mounted rootfs for a container
    cwd: str        # what relative paths start from: the current directory, the container's workdir
    where: str      # for messages: "the host", "container NAME"

    def resolve(self, path: str) -> str:
        """The host path of `path` on this side, symlinks followed as this side sees them."""
        return resolve_in_root(self.root, posixpath.join(self.cwd, path))

    def shown(self, host_path: str) -> str:
        """`host_path` as this side names it."""
        return posixpath.normpath("/" + os.path.relpath(host_path, self.root))

    def missing(self, path: str, why: str = "no such file or directory") -> InvalidArgument:
        return InvalidArgument(f"\"{path}\" could not be found on {self.where}: {why}")

    def entry_name(self, directory: str, name: str) -> str:
        """The tar entry name, relative to the root, of `name` in host directory `directory`."""
        rel = os.path.relpath(directory, self.root)
        return posixpath.join("" if rel == "." else rel, name).rstrip("/")


def _is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _source(side: _Side, path: str) -> tuple[str, bool, str | None]:
    """What `path` copies: (host path, whether it is a directory, the name the copy keeps;
    None when a directory's contents are copied: `SRC/.`, `.` or the root)."""
    host = side.resolve(path)
    try:
        is_dir = stat.S_ISDIR(os.lstat(host).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise side.missing(path) from None
    if path == "." or path.endswith("/.") or path.rstrip("/") == "":
        if not is_dir:
            raise side.missing(path, "not a directory")
        return host, True, None
    return host, is_dir, posixpath.basename(posixpath.normpath(path))


def _destination(side: _Side, path: str, source_is_dir: bool, source_name: str | None) -> tuple[str, str]:
    """Where a copy goes: (host path of the receiving directory, name of the copy in it;
    "" when the source's contents go straight into that existing directory)."""
    target = side.resolve(path)
    try:
        st = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        if path.endswith("/"):
            raise side.missing(path) from None
        parent = os.path.dirname(target)
        if not _is_dir(parent):
            raise side.missing(side.shown(parent)) from None
        return parent, os.path.basename(target)
    if stat.S_ISDIR(st.st_mode):
        return target, source_name or ""
    if source_is_dir:
        raise InvalidArgument("destination must be a directory when copying a directory")
    return os.path.dirname(target), os.path.basename(target)


@record
class _Placement:
    """Copied entries landing on `side`: each is named relative to the side's root and must
    pass `admit` before it is written."""

    side: _Side
    overwrite: bool

    def admit(self, name: str, is_dir: bool) -> bool:
        """False for a name reserved for whiteouts (skipped: applying it would delete a file);
        an error for a directory replacing a non-directory or the reverse, unless overwriting."""
        rel = clean_member_name(name)
        base = posixpath.basename(rel)
        if base.startswith(WHITEOUT_PREFIX):
            log.warning(f"skipping {base!r}: names starting with {WHITEOUT_PREFIX!r} mark deletions")
            return False
        if self.overwrite:
            return True
        existing = os.path.join(self.side.resolve("/" + posixpath.dirname(rel)), base)
        try:
            was_dir = stat.S_ISDIR(os.lstat(existing).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return True
        if was_dir != is_dir:
            old, new = ("directory", "non-directory") if was_dir else ("non-directory", "directory")
            raise InvalidArgument(f"cannot overwrite {old} \"{self.side.shown(existing)}\" with {new}: "
                                  "use --overwrite")
        return True

    def extract(self, reader: BinaryIO, chown: bool) -> None:
        apply_tar(reader, self.side.root, ApplyOptions(whiteouts="delete", chown=chown, devices=False))


def _tree_producer(source: str, top: str, with_top: bool, place: _Placement,
                   owner: tuple[int, int] | None) -> Callable[[int], None]:
    """A producer writing the tree at host path `source` as entries `top`, `top/...` (the
    entry `top` itself only `with_top`: otherwise it is an existing directory left as it is)."""
    def produce(out: int) -> None:
        tar = diff.TarStream(out, owner)
        for entry, path, st in diff.walk_tree(source, top):
            if (with_top or entry != top) and place.admit(entry, stat.S_ISDIR(st.st_mode)):
                tar.add_path(entry, path, st)
        tar.close()
    return produce


def _archive_producer(stream: BinaryIO, top: str, place: _Placement,
                      owner: tuple[int, int] | None) -> Callable[[int], None]:
    """A producer re-writing the (possibly compressed) tar on `stream` under `top`, an
    existing directory that keeps its own metadata."""
    from otter.storage.compression import decompressing_reader

    def under_top(name: str) -> str:
        return posixpath.join(top, clean_member_name(name)).rstrip("/")

    def produce(out: int) -> None:
        tar = diff.TarStream(out, owner)
        try:
            with tarfile.open(fileobj=decompressing_reader(stream)[1], mode="r|") as src:
                for member in src:
                    member.name = under_top(member.name)
                    if member.islnk():
                        member.linkname = under_top(member.linkname)
                    if member.name != top and place.admit(member.name, member.isdir()):
                        tar.add(member, src.extractfile(member) if member.isreg() else None)
        except tarfile.TarError:
            raise InvalidArgument("source must be a (compressed) tar archive when copying from stdin") from None
        tar.close()
    return produce


def _parse_cp_arg(text: str) -> tuple[str | None, str]:
    """Split `[CONTAINER:]PATH`. Paths starting with `/` or `.` (and `-`) are host paths even
    when they hold a colon, as with Podman."""
    if text.startswith(("/", ".")) or text == "-":
        return None, text
    container, sep, path = text.partition(":")
    return (container, path) if sep else (None, text)


@record
class CopyOptions:
    archive: bool = True            # files copied in belong to the container's user (else keep their ids)
    overwrite: bool = False         # let directories replace non-directories and the reverse
    stdin: BinaryIO | None = None   # the tar read for source "-"
    stdout: int = 1                 # where the tar goes for destination "-"


def container_cp(eng: Engine, src: str, dst: str, opts: CopyOptions = CopyOptions()) -> None:
    """`otter cp SRC DST`: exactly one of SRC and DST is `CONTAINER:PATH`; the other is a host
    path or `-` (a tar on standard input or output)."""
    src_ctr, src_path = _parse_cp_arg(src)
    dst_ctr, dst_path = _parse_cp_arg(dst)
    if not src_path or not dst_path:
        raise InvalidArgument(f"invalid arguments \"{src}\", \"{dst}\": you must specify paths")
    if src_ctr is not None and dst_ctr is None:
        name, copy_out = src_ctr, True
    elif dst_ctr is not None and src_ctr is None:
        name, copy_out = dst_ctr, False
    else:
        raise InvalidArgument(f"invalid arguments \"{src}\", \"{dst}\": you must use just one container "
                              "(copying between containers or within the host is not supported)")
    ctr = lookup(eng, name)
    host = _Side("/", os.getcwd(), "the host")
    with _paused(eng, ctr), _mounted(eng, ctr) as rootfs:
        inside = _Side(rootfs, ctr.config.workdir or "/", f"container {name}")
        if copy_out:
            _copy_out(inside, src_path, host, dst_path, ctr, opts)
        else:
            _copy_in(host, src_path, inside, dst_path, ctr, opts)


def _copy_tree(src: _Side, src_path: str, dst: _Side, dst_path: str, overwrite: bool, chown: bool,
               owner: tuple[int, int] | None) -> None:
    source, is_dir, name = _source(src, src_path)
    directory, copy_name = _destination(dst, dst_path, is_dir, name)
    place = _Placement(dst, overwrite)
    producer = _tree_producer(source, dst.entry_name(directory, copy_name), bool(copy_name), place, owner)
    _through_pipe(producer, lambda reader: place.extract(reader, chown))


def _copy_out(inside: _Side, src_path: str, host: _Side, dst_path: str, ctr: Container, opts: CopyOptions) -> None:
    if dst_path == "-":
        source, _, name = _source(inside, src_path)
        diff.write_tree_tar(source, name or "", opts.stdout, _archive_ids(ctr))
        return
    # Files copied out belong to whoever copies them, as with Podman; modes are kept.
    _copy_tree(inside, src_path, host, dst_path, opts.overwrite, chown=False, owner=None)


def _copy_in(host: _Side, src_path: str, inside: _Side, dst_path: str, ctr: Container, opts: CopyOptions) -> None:
    owner = None
    if opts.archive:
        from otter.core.users import resolve_user
        user = resolve_user(inside.root, ctr.config.user)
        owner = (user.uid, user.gid)
        if ctr.config.uid_map:
            from otter.engine.idmapping import host_owner
            owner = host_owner(ctr.config, *owner)
    if src_path != "-":
        _copy_tree(host, src_path, inside, dst_path, opts.overwrite, chown=True, owner=owner)
        return
    directory = inside.resolve(dst_path)
    if not _is_dir(directory):
        if dst_path.endswith("/"):
            raise inside.missing(dst_path)
        raise InvalidArgument("destination must be a directory when copying from stdin")
    place = _Placement(inside, opts.overwrite)
    producer = _archive_producer(opts.stdin, inside.entry_name(directory, ""), place, owner)
    _through_pipe(producer, lambda reader: place.extract(reader, chown=True))


# -- commit ----------------------------------------------------------------------------------

@record
class CommitOptions:
    container: str
    reference: str | None = None
    changes: tuple[str, ...] = ()
    message: str | None = None
    author: str | None = None
    pause: bool = True
    include_volumes: bool = False
    format: str = "oci"


def _commit_config(base: dict, ctr: Container, include_volumes: bool) -> dict:
    """The image's container config with what the container was created with in place of the
    image's own values (an emptied value removes the image's)."""
    cfg = dict(base)
    c = ctr.config
    own = {"Cmd": c.cmd, "Entrypoint": c.entrypoint, "Env": c.env, "WorkingDir": c.workdir, "User": c.user,
           "Labels": c.labels, "ExposedPorts": c.exposed_ports}
    for key, value in own.items():
        if value:
            cfg[key] = value
        else:
            cfg.pop(key, None)
    if include_volumes:
        volumes = {m["Destination"]: {} for m in c.mounts if m.get("Type") == "volume"}
        if volumes:
            cfg["Volumes"] = {**(cfg.get("Volumes") or {}), **volumes}
    return cfg


def container_commit(eng: Engine, opts: CommitOptions) -> ImageRecord:
    """Make an image of a container: its image plus one layer holding its changes (none when
    it changed nothing), its create-time settings as the config, `--change`s applied."""
    from otter.image.builder import NewImage, add_layer, build_image, check_format
    from otter.image.changes import apply_changes
    from otter.image.reference import parse_local_name
    from otter.timefmt import rfc3339

    check_format(opts.format)
    names = (str(parse_local_name(opts.reference)),) if opts.reference else ()
    ctr = lookup(eng, opts.container)
    base = eng.images.get(ctr.config.image_id)
    base_config = (eng.images.config_json(base).get("config") or {}) if base else {}
    config = apply_changes(_commit_config(base_config, ctr, opts.include_volumes), list(opts.changes))
    snapshot = _container_snapshot(eng, ctr, base)
    with _paused(eng, ctr, opts.pause), eng.lock():
        try:
            found = snapshot.changes()
            layer = None
            if found:
                parent = eng.layers.get(base.top_layer) if base and base.top_layer else None
                layer = _through_pipe(lambda out: snapshot.write_tar(out, found),
                                      lambda reader: add_layer(eng.images, parent, reader))
            return build_image(eng.images, NewImage(
                config=config, created=rfc3339(time.time()), base=base, layer=layer,
                created_by=" ".join(ctr.config.command), comment=opts.message, author=opts.author,
                format=opts.format, names=names))
        except BaseException:
            eng.gc()
            raise
