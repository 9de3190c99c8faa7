"""`otter cp`, `diff`, `commit` and `export`: a container's files (also as `otter container VERB`)."""

from __future__ import annotations

import os
import sys

from otter import jsoncodec
from otter.cli.common import Parser, parse, write
from otter.errors import InvalidArgument

JSON_FORMATS = ("json", "{{json .}}", "{{ json . }}")


def cmd_cp(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Copy the contents of SRC_PATH to the DEST_PATH.\n\n"
                     "Either one is CONTAINER:PATH, the other a local path or - for a tar archive on "
                     "standard input or output.")
    p.add_argument("source", metavar="[CONTAINER:]SRC_PATH")
    p.add_argument("destination", metavar="[CONTAINER:]DEST_PATH")
    p.add_bool("-a", "--archive", default=True,
               help="Chown copied files to the primary uid/gid of the destination container.")
    p.add_bool("--overwrite", help="Allow to overwrite directories with non-directories and vice versa")
    args = parse(p, argv)
    from otter.engine.filesystem import CopyOptions, container_cp
    sys.stdout.flush()
    container_cp(ctx.engine, args.source, args.destination,
                 CopyOptions(archive=args.archive, overwrite=args.overwrite, stdin=sys.stdin.buffer,
                             stdout=sys.stdout.fileno()))
    return 0


def cmd_diff(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Display the changes to the object's file system")
    p.add_argument("container", metavar="CONTAINER|IMAGE")
    p.add_argument("--format", help="Change the output format (json)")
    args = parse(p, argv)
    if args.format and args.format.strip() not in JSON_FORMATS:
        raise InvalidArgument("only supported value for '--format' is 'json'")
    from otter.engine.filesystem import container_diff
    found = container_diff(ctx.engine, args.container)
    if not args.format:
        write("".join(f"{kind} {path}\n" for kind, path in found))
        return 0
    # Podman's document: empty lists are left out, five-space indent (Go's encoder as Podman sets it).
    report = {}
    for key, kind in (("changed", "C"), ("added", "A"), ("deleted", "D")):
        paths = [path for k, path in found if k == kind]
        if paths:
            report[key] = paths
    write(jsoncodec.dumps(report, indent=5, ensure_ascii=False) + "\n")
    return 0


def cmd_commit(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Create new image based on the changed container")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("image", nargs="?", metavar="IMAGE", help="name of the new image")
    p.add_argument("-c", "--change", action="append", default=[],
                   help="Apply the following possible instructions to the created image (default []): "
                        "CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | ONBUILD | STOPSIGNAL | USER | VOLUME | WORKDIR")
    p.add_argument("-m", "--message", help="Set commit message for imported image")
    p.add_argument("-a", "--author", help="Set the author for the image committed")
    p.add_bool("-p", "--pause", default=True, help="Pause container during commit")
    p.add_bool("-q", "--quiet", help="Suppress output")
    p.add_argument("-f", "--format", default="oci", help="Format of the image manifest and metadata (default \"oci\")")
    p.add_bool("--include-volumes", help="Include container volumes as image volumes")
    args = parse(p, argv)
    from otter.engine.filesystem import CommitOptions, container_commit
    rec = container_commit(ctx.engine, CommitOptions(
        container=args.container, reference=args.image, changes=tuple(args.change), message=args.message,
        author=args.author, pause=args.pause, include_volumes=args.include_volumes, format=args.format))
    # No progress lines to quiet: the new image's ID is the whole output, with or without -q.
    write(rec.id + "\n")
    return 0


def cmd_export(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Export container's filesystem contents as a tar archive")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("-o", "--output", help="Write to a specified file (default: stdout, which must be redirected)")
    args = parse(p, argv)
    from otter.engine.filesystem import container_export
    if args.output is None:
        if os.isatty(sys.stdout.fileno()):
            raise InvalidArgument("refusing to export to terminal. Use -o flag or redirect")
        sys.stdout.flush()
        container_export(ctx.engine, args.container, sys.stdout.fileno())
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        container_export(ctx.engine, args.container, fd)
    except BaseException:
        os.unlink(args.output)
        raise
    finally:
        os.close(fd)
    return 0
