"""`otter image ...` and its top-level aliases (images, import, load, save, tag, untag, rmi, history)."""

from __future__ import annotations

import sys
import time

from otter.cli.common import Parser, dispatch, parse, write
from otter.cli.main import ExitStatus, exit_code_for, print_error
from otter.cli.output import ago, human_size, print_json, render_format, tabulate
from otter.timefmt import go_time_of

SUBCOMMANDS = {
    "ls": "cmd_list", "list": "cmd_list", "import": "cmd_import", "load": "cmd_load", "save": "cmd_save",
    "tag": "cmd_tag", "untag": "cmd_untag", "rm": "cmd_rm", "inspect": "cmd_inspect", "history": "cmd_history",
    "prune": "cmd_prune", "exists": "cmd_exists", "pull": "cmd_pull", "push": "cmd_push",
}


def cmd_image(ctx, argv: list[str], prog: str) -> int:
    return dispatch(ctx, argv, prog, "Manage images", {verb: globals()[fn] for verb, fn in SUBCOMMANDS.items()})


def cmd_pull(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.registry import cmd_pull as pull
    return pull(ctx, argv, prog)


def cmd_push(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.registry import cmd_push as push
    return push(ctx, argv, prog)


# -- images -----------------------------------------------------------------------------

IMAGE_HEADERS = {"ID": "IMAGE ID", "CreatedSince": "CREATED", "Created": "CREATED", "Size": "SIZE",
                 "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST"}


def _image_fields(row, no_trunc: bool, now: float) -> dict:
    rec = row.image
    return {
        "ID": rec.id if no_trunc else rec.id[:12], "Id": rec.id,
        "Repository": row.repository, "Tag": row.tag, "Digest": rec.digest,
        "Created": ago(rec.created, now), "CreatedSince": ago(rec.created, now),
        "CreatedAt": go_time_of(rec.created), "CreatedTime": go_time_of(rec.created),
        "Size": human_size(rec.size), "VirtualSize": human_size(rec.size), "SharedSize": "0 B",
        "Names": list(rec.names), "Labels": rec.labels, "Dangling": rec.dangling, "Containers": row.containers,
        "ReadOnly": False, "History": list(rec.names),
    }


def _image_json(rec, containers: int) -> dict:
    from otter.image.reference import split_name
    from otter.timefmt import rfc3339
    return {
        "Id": rec.id, "ParentId": "", "RepoTags": list(rec.names) or None,
        "RepoDigests": sorted({split_name(n)[0] + "@" + rec.digest for n in rec.names}),
        "Size": rec.size, "SharedSize": 0, "VirtualSize": rec.size, "Labels": rec.labels or None,
        "Containers": containers, "Names": list(rec.names) or None, "Digest": rec.digest,
        "History": list(rec.names) or None, "Created": int(rec.created), "CreatedAt": rfc3339(rec.created),
    }


def cmd_list(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "List images in local storage")
    p.add_argument("image", nargs="?", help="show only images matching this reference")
    p.add_bool("-a", "--all", help="Show all images (default hides intermediate images)")
    p.add_bool("-q", "--quiet", help="Display only image IDs")
    p.add_bool("--no-trunc", help="Do not truncate output")
    p.add_bool("--digests", help="Show digests")
    p.add_bool("-n", "--noheading", help="Do not print column headings")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Change the output format to JSON or a Go template")
    args = parse(p, argv)
    from otter.engine.images import ListOptions, image_list
    filters = list(args.filter) + ([f"reference={args.image}"] if args.image else [])
    rows = image_list(ctx.engine, ListOptions(all=args.all, filters=tuple(filters)))
    if args.quiet:
        seen: list[str] = []
        for row in rows:
            ident = "sha256:" + row.image.id if args.no_trunc else row.image.id[:12]
            if ident not in seen:
                seen.append(ident)
        write("".join(i + "\n" for i in seen))
        return 0
    if args.format and args.format.strip() == "json":
        unique = {}
        for row in rows:
            unique.setdefault(row.image.id, _image_json(row.image, row.containers))
        print_json(list(unique.values()))
        return 0
    now = time.time()
    fields = [_image_fields(row, args.no_trunc, now) for row in rows]
    if args.format:
        write(render_format(args.format, fields, IMAGE_HEADERS, args.noheading))
        return 0
    cols = ["Repository", "Tag", "ID"] + (["Digest"] if args.digests else []) + ["Created", "Size"]
    table = [] if args.noheading else [[IMAGE_HEADERS[c] for c in cols]]
    table += [[str(f[c]) for c in cols] for f in fields]
    write(tabulate(table))
    return 0


# -- import / load / save ------------------------------------------------------------------

def cmd_import(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Import a tarball to create a filesystem image")
    p.add_argument("path", help="tarball path, or - for standard input")
    p.add_argument("reference", nargs="?", help="name for the new image")
    p.add_argument("-c", "--change", action="append", default=[], help="Apply the following possible instructions to the created image (default []): CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | ONBUILD | STOPSIGNAL | USER | VOLUME | WORKDIR")
    p.add_argument("-m", "--message", help="Set commit message for imported image")
    p.add_bool("-q", "--quiet", help="Suppress output")
    args = parse(p, argv)
    from otter.engine.images import ImportOptions, image_import
    rec = image_import(ctx.engine, ImportOptions(args.path, args.reference, tuple(args.change), args.message),
                       stdin=sys.stdin.buffer)
    write(f"{rec.id}\n")
    return 0


def cmd_load(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Load image(s) from a tar archive")
    p.add_argument("-i", "--input", help="Read from specified archive file (default: stdin)")
    p.add_bool("-q", "--quiet", help="Suppress the output")
    args = parse(p, argv)
    if args.input is None and sys.stdin.isatty():
        from otter.errors import InvalidArgument
        raise InvalidArgument("cannot read from terminal, use command-line redirection or the --input flag")
    from otter.engine.images import image_load
    recs = image_load(ctx.engine, args.input, stdin=sys.stdin.buffer)
    names = [n for rec in recs for n in rec.names] + [f"sha256:{rec.id}" for rec in recs if not rec.names]
    if args.quiet:
        return 0
    write(f"Loaded image: {', '.join(names)}\n" if len(names) == 1 else f"Loaded image(s): {', '.join(names)}\n")
    return 0


def cmd_save(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Save image(s) to an archive")
    p.add_argument("images", nargs="+", help="images to save")
    p.add_argument("-o", "--output", help="Write to a specified file (default: stdout, which must be redirected)")
    p.add_argument("--format", default="docker-archive", help="Save image to oci-archive, oci-dir (directory with oci manifest type), docker-archive")
    p.add_bool("-m", "--multi-image-archive", help="Interpret additional arguments as images not tags and create a multi-image-archive (only for docker-archive)")
    p.add_bool("-q", "--quiet", help="Suppress the output")
    p.add_bool("--compress", help="Compress tarball image layers when saving to a directory using the 'dir' transport")
    args = parse(p, argv)
    from otter.engine.images import SaveOptions, image_save
    image_save(ctx.engine, SaveOptions(tuple(args.images), args.output, args.format))
    return 0


# -- tag / untag / rm / prune / exists -------------------------------------------------------

def cmd_tag(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Add an additional name to a local image")
    p.add_argument("image")
    p.add_argument("target_names", nargs="+", metavar="TARGET_NAME")
    args = parse(p, argv)
    from otter.engine.images import image_tag
    image_tag(ctx.engine, args.image, args.target_names)
    return 0


def cmd_untag(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove a name from a local image")
    p.add_argument("image")
    p.add_argument("names", nargs="*", metavar="NAME")
    args = parse(p, argv)
    from otter.engine.images import image_untag
    image_untag(ctx.engine, args.image, args.names)
    return 0


def cmd_rm(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove one or more images from local storage")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_bool("-f", "--force", help="Force Removal of the image")
    p.add_bool("-a", "--all", help="Remove all images")
    p.add_bool("-i", "--ignore", help="Ignore errors if a specified image does not exist")
    args = parse(p, argv)
    if not args.images and not args.all:
        from otter.errors import InvalidArgument
        raise InvalidArgument("image name or ID must be specified")
    from otter.engine.images import image_remove
    from otter.errors import NotFound
    report = image_remove(ctx.engine, args.images, force=args.force, all_images=args.all)
    write("".join(f"Untagged: {n}\n" for n in report.untagged) + "".join(f"Deleted: {i}\n" for i in report.deleted))
    errors = [e for e in report.errors if not (args.ignore and isinstance(e, NotFound))]
    for e in errors:
        print_error(str(e))
    if errors:
        raise ExitStatus(max(exit_code_for(e, rm_like=True) for e in errors) if len(errors) == 1
                         else exit_code_for(errors[-1], rm_like=True))
    return 0


def cmd_prune(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove unused images")
    p.add_bool("-a", "--all", help="Remove all images not in use by containers, not just dangling ones")
    p.add_bool("-f", "--force", help="Do not prompt for confirmation")
    args = parse(p, argv)
    from otter.engine.images import image_prune
    write("".join(i + "\n" for i in image_prune(ctx.engine, all_images=args.all)))
    return 0


def cmd_exists(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Check if an image exists in local storage")
    p.add_argument("image")
    args = parse(p, argv)
    from otter.engine.images import image_exists
    return 0 if image_exists(ctx.engine, args.image) else 1


# -- inspect / history ------------------------------------------------------------------------

def cmd_inspect(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.inspect import inspect_command
    return inspect_command(ctx, argv, prog, kind="image")


def cmd_history(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Show history of a specified image")
    p.add_argument("image")
    p.add_bool("-H", "--human", default=True, help="Display sizes and dates in human readable format")
    p.add_bool("--no-trunc", help="Do not truncate the output")
    p.add_bool("-q", "--quiet", help="Display the numeric IDs only")
    p.add_argument("--format", help="Change the output to JSON or a Go template")
    args = parse(p, argv)
    from otter.engine.images import image_history
    from otter.timefmt import rfc3339
    entries = image_history(ctx.engine, args.image)
    if args.quiet:
        write("".join((e.id if args.no_trunc or e.id == "<missing>" else e.id[:12]) + "\n" for e in entries))
        return 0
    now = time.time()
    fields = []
    for e in entries:
        created_by = e.created_by if args.no_trunc or len(e.created_by) <= 45 else e.created_by[:42] + "..."
        fields.append({
            "ID": e.id if args.no_trunc or e.id == "<missing>" else e.id[:12],
            "Created": ago(e.created, now) if args.human else rfc3339(e.created),
            "CreatedBy": created_by,
            "Size": human_size(e.size) if args.human else str(e.size),
            "Comment": e.comment,
        })
    if args.format and args.format.strip() == "json":
        # Podman's keys, mixed case and all: its history report struct has json tags on some fields only.
        print_json([{"id": e.id, "created": rfc3339(e.created), "CreatedBy": e.created_by, "size": e.size,
                     "comment": e.comment, "Created": rfc3339(int(e.created))} for e in entries])
        return 0
    if args.format:
        write(render_format(args.format, fields, {"CreatedBy": "CREATED BY"}))
        return 0
    table = [["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    table += [[f["ID"], f["Created"], f["CreatedBy"], f["Size"], f["Comment"]] for f in fields]
    write(tabulate(table))
    return 0
