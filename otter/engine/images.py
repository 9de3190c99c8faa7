"""Image verbs: import, load, save, list, tag, untag, remove, inspect, history, prune, exists.

Each verb takes the Engine and an *Options value and returns plain data (reports, summaries,
inspect documents) for a front end to format. Writers hold the store lock for the whole
operation and garbage-collect on failure, so a failed load or import leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from otter.engine.context import Engine
from otter.engine.events import emit
from otter.errors import ImageNotFound, InUse, InvalidArgument, OtterError
from otter.image.store import ImageRecord
from otter.record import field, record
from otter.timefmt import rfc3339


@contextlib.contextmanager
def _writing(eng: Engine) -> Iterator[None]:
    """Hold the store lock; on failure remove whatever the operation committed."""
    with eng.lock():
        try:
            yield
        except BaseException:
            eng.gc()
            raise


# -- import -----------------------------------------------------------------------------

@record
class ImportOptions:
    source: str                      # a path, or "-" for standard input
    reference: str | None = None
    changes: tuple[str, ...] = ()
    message: str | None = None


def image_import(eng: Engine, opts: ImportOptions, stdin=None) -> ImageRecord:
    from otter.image.builder import NewImage, add_layer, build_image
    from otter.image.changes import apply_changes
    from otter.image.reference import parse_local_name

    names = (str(parse_local_name(opts.reference)),) if opts.reference else ()
    container_config = apply_changes({}, list(opts.changes))
    src = stdin if opts.source == "-" else _open_input(opts.source)
    try:
        with _writing(eng):
            layer = add_layer(eng.images, None, src)
            rec = build_image(eng.images, NewImage(config=container_config, created=rfc3339(time.time()), layer=layer,
                                                   created_by="otter import", comment=opts.message, names=names))
        emit(eng, "image", "import", rec.id, "/dev/stdin" if opts.source == "-" else opts.source)
        return rec
    finally:
        if src is not stdin:
            src.close()


def _open_input(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InvalidArgument(f"{path}: no such file or directory") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{path}: is a directory, not an archive") from None
    except PermissionError:
        raise InvalidArgument(f"{path}: permission denied") from None


# -- load / save ------------------------------------------------------------------------

def image_load(eng: Engine, source: str | None, stdin=None) -> list[ImageRecord]:
    from otter.image.archive import Loader, record

    src = stdin if source in (None, "-") else _open_input(source)
    try:
        with _writing(eng):
            pending = Loader(eng.images).load(src, eng.paths.tmp)
            loaded = record(eng.images, pending)
        for rec in loaded:
            emit(eng, "image", "loadfromarchive", rec.id, "/dev/stdin" if source in (None, "-") else source)
        return loaded
    finally:
        if src is not stdin:
            src.close()


@record
class SaveOptions:
    images: tuple[str, ...]
    output: str | None = None         # None: standard output
    format: str = "docker-archive"


def image_save(eng: Engine, opts: SaveOptions, stdout_fd: int = 1) -> None:
    from otter.image.archive import Saver, check_format

    fmt = check_format(opts.format)
    if not opts.images:
        raise InvalidArgument("at least one image name must be specified")
    selected = []
    for text in opts.images:
        rec = eng.images.lookup(text)
        if text == rec.id or rec.id.startswith(text.removeprefix("sha256:")):
            names = list(rec.names)
        else:
            names = [n for n in rec.names if _name_matches(n, text)] or list(rec.names[:1])
        selected.append((rec, names))
    saver = Saver(eng.images)
    with eng.lock():
        if fmt == "oci-dir":
            if not opts.output:
                raise InvalidArgument("oci-dir needs an output directory (-o)")
            _save_dir(opts.output, lambda d: saver.save_oci_dir(d, selected))
        else:
            write = saver.save_docker if fmt == "docker-archive" else saver.save_oci_archive
            if opts.output is None:
                if os.isatty(stdout_fd):
                    raise InvalidArgument("refusing to save to terminal. Use -o flag or redirect")
                write(stdout_fd, selected)
            else:
                _save_file(opts.output, lambda fd: write(fd, selected))
    for rec, _ in selected:
        emit(eng, "image", "save", rec.id, opts.output or "/dev/stdout")


def _name_matches(name: str, text: str) -> bool:
    try:
        from otter.image.reference import lookup_candidates
        candidates, short = lookup_candidates(text)
    except InvalidArgument:
        return False
    if any(str(c) == name for c in candidates):
        return True
    return short and name.endswith("/" + str(candidates[0]).removeprefix("localhost/"))


def _save_file(path: str, write) -> None:
    """Write to a temporary file beside `path`, then rename: no half-written archive."""
    import tempfile
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".otter-save-")
    try:
        write(fd)
        os.fchmod(fd, 0o644)
        os.close(fd)
        fd = -1
        os.rename(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
        raise


def _save_dir(path: str, write) -> None:
    import tempfile

    from otter.sys.tree import remove_tree
    if os.path.exists(path) and os.listdir(path):
        raise InvalidArgument(f"{path}: directory is not empty")
    parent = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(dir=parent, prefix=".otter-save-")
    try:
        write(tmp)
        os.chmod(tmp, 0o755)
        if os.path.exists(path):
            os.rmdir(path)
        os.rename(tmp, path)
    except BaseException:
        remove_tree(tmp)
        raise


# -- list -------------------------------------------------------------------------------

@record
class ListOptions:
    all: bool = False
    filters: tuple[str, ...] = ()


@record
class ImageRow:
    """One row of `images`: an image under one of its names (or `<none>` when dangling)."""

    image: ImageRecord
    repository: str
    tag: str
    containers: int = 0


def _image_keys():
    """`images --filter` keys; each predicate gets (ImageRecord, name) pairs (one per row)."""
    from otter.core import filters as f
    return {
        "dangling": (lambda row, v: row[0].dangling == (v == "true"), f.one_of("true", "false")),
        "reference": (lambda row, v: row[1] is not None and _reference_match(row[1], v), None),
        "label": (lambda row, v: f.labels_match(row[0].labels, v), None),
        "id": (lambda row, v: row[0].id.startswith(v.removeprefix("sha256:")), None),
    }


def _reference_match(name: str, pattern: str) -> bool:
    import fnmatch
    repo = name.rsplit(":", 1)[0]
    if ":" not in pattern.rsplit("/", 1)[-1]:
        candidates = (repo, repo.split("/", 1)[-1], repo.rsplit("/", 1)[-1])
    else:
        candidates = (name, name.split("/", 1)[-1], name.rsplit("/", 1)[-1])
    return any(fnmatch.fnmatchcase(c, pattern) for c in candidates)


def image_list(eng: Engine, opts: ListOptions = ListOptions()) -> list[ImageRow]:
    from otter.core import filters as f
    from otter.image.reference import split_name
    keys = _image_keys()
    grouped = f.parse(opts.filters, keys, "image")
    if not eng.has_store():
        return []
    users = eng.image_users()
    rows = []
    for rec in sorted(eng.images.list(), key=lambda r: r.created, reverse=True):
        entries = [(n, *split_name(n)) for n in rec.names] or [(None, "<none>", "<none>")]
        for name, repo, tag in entries:
            if f.matches((rec, name), grouped, keys):
                rows.append(ImageRow(rec, repo, tag, len(users.get(rec.id, ()))))
    return rows


# -- tag / untag ------------------------------------------------------------------------

def image_tag(eng: Engine, image: str, names: list[str]) -> None:
    from otter.image.reference import parse_local_name
    refs = [str(parse_local_name(n)) for n in names]
    with eng.lock():
        rec = eng.images.lookup(image)
        for name, ref in zip(names, refs):
            eng.images.tag(rec.id, ref)
            emit(eng, "image", "tag", rec.id, name)


def image_untag(eng: Engine, image: str, names: list[str]) -> None:
    from otter.image.reference import parse_local_name
    with eng.lock():
        rec = eng.images.lookup(image)
        targets = list(rec.names) if not names else []
        for n in names:
            ref = str(parse_local_name(n))
            if ref not in rec.names:
                raise ImageNotFound(f"{n}: tag not known")
            targets.append(ref)
        for ref in targets:
            eng.images.untag(rec.id, ref)
            emit(eng, "image", "untag", rec.id, ref)


# -- remove / prune ---------------------------------------------------------------------

@record(frozen=False)
class RemoveReport:
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[OtterError] = field(default_factory=list)


def image_remove(eng: Engine, images: list[str], force: bool = False, all_images: bool = False) -> RemoveReport:
    report = RemoveReport()
    with eng.lock():
        if all_images:
            images = [rec.id for rec in eng.images.list()]
        users = eng.image_users()
        for text in images:
            try:
                rec = eng.images.lookup(text)
            except ImageNotFound as e:
                report.errors.append(e)
                continue
            by_name = [n for n in rec.names if _name_matches(n, text)]
            if by_name and len(rec.names) > len(by_name):
                for n in by_name:
                    eng.images.untag(rec.id, n)
                    emit(eng, "image", "untag", rec.id, n)
                    report.untagged.append(n)
                continue
            if rec.id in users:
                if not force:
                    report.errors.append(InUse(
                        f"image used by {users[rec.id][0]}: image is in use by a container: "
                        "consider listing external containers and force-removing image"))
                    continue
                from otter.engine.containers import remove_for_image
                remove_for_image(eng, users[rec.id])
            report.untagged.extend(rec.names)
            eng.images.delete(rec.id)
            for n in rec.names:
                emit(eng, "image", "untag", rec.id, n)
            emit(eng, "image", "remove", rec.id, by_name[0] if by_name else text)
            report.deleted.append(rec.id)
        eng.gc()
    return report


def image_prune(eng: Engine, all_images: bool = False) -> list[str]:
    removed = []
    with eng.lock():
        users = eng.image_users()
        for rec in eng.images.list():
            if rec.id in users or (not rec.dangling and not all_images):
                continue
            eng.images.delete(rec.id)
            emit(eng, "image", "remove", rec.id)
            removed.append(rec.id)
        eng.gc()
    return removed


def image_exists(eng: Engine, image: str) -> bool:
    if not eng.has_store():
        return False
    try:
        eng.images.lookup(image)
        return True
    except (ImageNotFound, InvalidArgument):
        return False


# -- inspect / history ------------------------------------------------------------------

def image_inspect(eng: Engine, image: str) -> dict:
    """The `podman image inspect` document (Podman CLI shape: Id without `sha256:`)."""
    rec = eng.images.lookup(image)
    cfg = eng.images.config_json(rec)
    chain = list(reversed(eng.layers.chain(rec.top_layer)))
    container_cfg = cfg.get("config") or {}
    from otter.image.reference import split_name
    repo_digests = sorted({split_name(n)[0] + "@" + rec.digest for n in rec.names})
    graph_data: dict[str, str] = {}
    if chain:
        top_dir = eng.snapshotter.layer_dir(chain[-1].id.split(":", 1)[1])
        graph_data["UpperDir"] = os.path.join(top_dir, "diff")
        graph_data["WorkDir"] = os.path.join(top_dir, "work")
        if len(chain) > 1:
            graph_data["LowerDir"] = ":".join(
                os.path.join(eng.snapshotter.layer_dir(layer.id.split(":", 1)[1]), "diff") for layer in reversed(chain[:-1]))
    return {
        "Id": rec.id,
        "Digest": rec.digest,
        "RepoTags": list(rec.names),
        "RepoDigests": repo_digests,
        "Parent": "",
        "Comment": _comment(cfg),
        "Created": cfg.get("created") or rfc3339(rec.created),
        "Config": container_cfg,
        "Version": cfg.get("docker_version", ""),
        "Author": cfg.get("author", ""),
        "Architecture": cfg.get("architecture", ""),
        "Os": cfg.get("os", ""),
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {"Name": eng.driver, "Data": graph_data},
        "RootFS": {"Type": "layers", "Layers": [layer.diff_id for layer in chain]},
        "Labels": container_cfg.get("Labels") or None,
        "Annotations": eng.images.manifest(rec).annotations,
        "ManifestType": rec.manifest_type,
        "User": container_cfg.get("User", ""),
        "History": cfg.get("history") or [],
        "NamesHistory": list(rec.names),
    }


def _comment(cfg: dict) -> str:
    history = cfg.get("history") or []
    return (history[-1].get("comment") or "") if history else cfg.get("comment", "")


@record
class HistoryEntry:
    id: str            # the image ID for the top entry, "<missing>" below it, as Podman prints
    created: float
    created_by: str
    size: int
    comment: str


def image_history(eng: Engine, image: str) -> list[HistoryEntry]:
    from otter.image.store import parse_time

    rec = eng.images.lookup(image)
    cfg = eng.images.config_json(rec)
    chain = list(reversed(eng.layers.chain(rec.top_layer)))
    history = cfg.get("history") or [{} for _ in chain]
    entries = []
    layer_index = 0
    for h in history:
        size = 0
        if not h.get("empty_layer") and layer_index < len(chain):
            size = chain[layer_index].size
            layer_index += 1
        entries.append(HistoryEntry("<missing>", parse_time(h.get("created")), h.get("created_by", ""), size,
                                    h.get("comment", "")))
    entries.reverse()
    if entries:
        top = entries[0]
        entries[0] = HistoryEntry(rec.id, top.created, top.created_by, top.size, top.comment)
    return entries
