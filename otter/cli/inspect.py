"""`otter inspect` and the per-noun `inspect` verbs: JSON documents, or `--format` per object."""

from __future__ import annotations

from otter.cli.common import Parser, parse, write
from otter.cli.main import ExitStatus, load, print_error
from otter.cli.output import print_json, render_format
from otter.errors import NotFound

# Tried in this order by a plain `otter inspect NAME` (containers shadow images, as in Podman).
INSPECTORS = {
    "container": "otter.engine.containers:container_inspect",
    "image": "otter.engine.images:image_inspect",
    "volume": "otter.engine.volumes:volume_inspect",
}


def _inspect_one(ctx, name: str, kind: str) -> dict:
    kinds = [kind] if kind != "all" else list(INSPECTORS)
    last: NotFound | None = None
    for k in kinds:
        try:
            return load(INSPECTORS[k])(ctx.engine, name)
        except NotFound as e:
            last = e
    if kind == "all":
        raise NotFound(f"no such object: \"{name}\"")
    raise last  # type: ignore[misc]


def inspect_command(ctx, argv: list[str], prog: str, kind: str = "all") -> int:
    p = Parser(prog, "Display the configuration of object denoted by ID")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("-f", "--format", help="Format the output to a Go template or json")
    if kind == "all":
        p.add_argument("-t", "--type", default="all", choices=["all"] + list(INSPECTORS), help="Specify inspect-object type")
    args = parse(p, argv)
    kind = getattr(args, "type", kind)
    docs = []
    failed = False
    for name in args.names:
        try:
            docs.append(_inspect_one(ctx, name, kind))
        except NotFound as e:
            print_error(str(e))
            failed = True
    if args.format and args.format.strip() != "json":
        write(render_format(args.format, docs))
    else:
        print_json(docs)
    if failed:
        raise ExitStatus(125)
    return 0


def cmd_inspect(ctx, argv: list[str], prog: str) -> int:
    return inspect_command(ctx, argv, prog)
