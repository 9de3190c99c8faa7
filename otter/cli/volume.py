"""`otter volume ...`: create, ls, inspect, rm, prune, exists, printed as Podman 4.3.1 prints them."""

from __future__ import annotations

import csv
import sys

from otter.cli.common import Parser, dispatch, parse, write
from otter.cli.main import ExitStatus, UsageError, exit_code_for, print_error
from otter.cli.output import print_json, render_format, tabulate
from otter.errors import InvalidArgument, OtterError, VolumeNotFound
from otter.timefmt import go_time, parse_rfc3339_nano

SUBCOMMANDS = {
    "create": "cmd_create", "ls": "cmd_list", "list": "cmd_list", "inspect": "cmd_inspect", "rm": "cmd_rm",
    "remove": "cmd_rm", "prune": "cmd_prune", "exists": "cmd_exists",
}

# Header overrides for `table` formats, keyed by the header a field would get by itself.
VOLUME_HEADERS = {"Name": "VOLUME NAME"}


def cmd_volume(ctx, argv: list[str], prog: str) -> int:
    return dispatch(ctx, argv, prog, "Manage volumes", {verb: globals()[fn] for verb, fn in SUBCOMMANDS.items()})


def _csv_values(values: list[str]) -> list[str]:
    """A cobra `strings` flag: every occurrence is itself a comma-separated (CSV) list."""
    return [item for value in values for row in csv.reader([value]) for item in row]


def _template_fields(doc: dict) -> dict:
    """A volume's inspect document as Podman's templates see the Go struct behind it: CreatedAt is
    a time.Time (printed by its String method) and Anonymous is always there."""
    return {**doc, "CreatedAt": go_time(parse_rfc3339_nano(doc["CreatedAt"])), "Anonymous": doc.get("Anonymous", False)}


# -- create -----------------------------------------------------------------------------------

def cmd_create(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Create a new volume")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--driver", default="local", help="Specify volume driver name (default \"local\")")
    p.add_argument("-l", "--label", action="append", default=[], help="Set metadata for a volume (default [])")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options (default [])")
    p.add_bool("--ignore", help="Don't fail if volume already exists")
    args = parse(p, argv)
    if len(args.names) > 1:
        raise UsageError(f"accepts at most 1 arg(s), received {len(args.names)}")
    from otter.engine.volumes import VolumeCreateOptions, volume_create
    labels = dict(item.partition("=")[::2] for item in _csv_values(args.label))
    options = dict(item.partition("=")[::2] for item in args.opt)
    vol = volume_create(ctx.engine, VolumeCreateOptions(args.names[0] if args.names else None, args.driver, labels,
                                                        options, args.ignore))
    write(vol.name + "\n")
    return 0


# -- ls ---------------------------------------------------------------------------------------

def cmd_list(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "List volumes")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter volume output")
    p.add_argument("--format", help="Format volume output using Go template")
    p.add_bool("--noheading", help="Do not print headers")
    p.add_bool("-q", "--quiet", help="Print volume output in quiet mode")
    args = parse(p, argv)
    from otter.engine.volumes import volume_document, volume_list
    vols = volume_list(ctx.engine, tuple(_csv_values(args.filter)))
    if args.format and args.format.strip() == "json":
        print_json([volume_document(v) for v in vols])
        return 0
    if not vols:
        return 0    # Podman prints nothing at all, not even the header
    if args.quiet:
        write("".join(v.name + "\n" for v in vols))
    elif args.format:
        write(render_format(args.format, [_template_fields(volume_document(v)) for v in vols], VOLUME_HEADERS,
                            args.noheading))
    else:
        table = [] if args.noheading else [["DRIVER", "VOLUME NAME"]]
        write(tabulate(table + [[v.driver, v.name] for v in vols]))
    return 0


# -- inspect ----------------------------------------------------------------------------------

def cmd_inspect(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Display detailed information on one or more volumes")
    p.add_argument("names", nargs="*", metavar="VOLUME")
    p.add_bool("-a", "--all", help="Inspect all volumes")
    p.add_argument("-f", "--format", help="Format volume output using Go template (default \"json\")")
    args = parse(p, argv)
    if bool(args.names) == args.all:
        raise InvalidArgument("provide one or more volume names or use --all")
    from otter.engine.volumes import volume_inspect, volume_list
    names = [v.name for v in volume_list(ctx.engine)] if args.all else args.names
    docs = []
    failed = False
    for name in names:
        try:
            docs.append(volume_inspect(ctx.engine, name))
        except VolumeNotFound as e:
            print_error(str(e))
            failed = True
    if args.format and args.format.strip() != "json":
        write(render_format(args.format, [_template_fields(doc) for doc in docs]))
    else:
        print_json(docs)
    if failed:
        raise ExitStatus(125)
    return 0


# -- rm / prune / exists ------------------------------------------------------------------------

def cmd_rm(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove one or more volumes")
    p.add_argument("names", nargs="*", metavar="VOLUME")
    p.add_bool("-a", "--all", help="Remove all volumes")
    p.add_bool("-f", "--force", help="Remove a volume by force, even if it is being used by a container")
    args = parse(p, argv)
    if bool(args.names) == args.all:
        raise InvalidArgument("choose either one or more volumes or all")
    from otter.engine.volumes import volume_remove
    report = volume_remove(ctx.engine, args.names, force=args.force, all=args.all)
    write("".join(name + "\n" for name in report.removed))
    for e in report.errors:
        print_error(str(e))
    if report.errors:
        # As Podman: any volume in use makes it 2, else any missing volume 1, else 125.
        codes = {exit_code_for(e, rm_like=True) for e in report.errors}
        raise ExitStatus(2 if 2 in codes else 1 if 1 in codes else 125)
    return 0


def cmd_prune(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove all unused volumes")
    p.add_bool("-f", "--force", help="Do not prompt for confirmation")
    args = parse(p, argv)
    from otter.engine.volumes import volume_list, volume_prune
    if not args.force:
        write("WARNING! This will remove all volumes not used by at least one container. "
              "The following volumes will be removed:\n")
        unused = volume_list(ctx.engine, ("dangling=true",))
        if not unused:
            write("No dangling volumes found\n")
            return 0
        write("".join(v.name + "\n" for v in unused) + "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            raise OtterError("EOF")
        if not answer.lower().startswith("y"):
            return 0
    write("".join(name + "\n" for name in volume_prune(ctx.engine)))
    return 0


def cmd_exists(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Check if the given volume exists")
    p.add_argument("name", metavar="VOLUME")
    args = parse(p, argv)
    from otter.engine.volumes import volume_exists
    return 0 if volume_exists(ctx.engine, args.name) else 1
