"""`otter info`, `otter version` and `otter system` (info, df, prune), printed as Podman 4.3.1 prints them.

Vocabulary:
  report record  an `info`/`version` record of `otter.engine.system`, whose fields each carry
                 a Go name and a JSON key (`named`). `plain` turns one into Podman's JSON (JSON
                 keys); `GoStruct` into what Podman's templates see (Go names).

`otter version` must start as fast as `otter --version`: this module imports only
`otter.record` at load time, and `version` without flags builds no argument parser.
"""

from __future__ import annotations

from otter.record import fields, is_record

DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def units_size(size: float, binary: bool = False) -> str:
    """go-units HumanSize (or BytesSize when `binary`): four significant digits and no space,
    `2.141MB`, `248KiB`, as `system df` and `stats` print sizes."""
    base, units = (1024.0, BINARY_UNITS) if binary else (1000.0, DECIMAL_UNITS)
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{size:.4g}{units[i]}"


# -- report records as JSON and as template structs ----------------------------------------------

def plain(rec) -> dict:
    """A report record as Podman's JSON document: JSON keys, nested records as objects."""
    return {f.metadata["json"]: plain(value) if is_record(value := getattr(rec, f.name)) else value
            for f in fields(rec)}


def go_fields(rec) -> dict:
    """A report record's fields by Go name, nested records as `GoStruct`s."""
    return {f.metadata["go"]: GoStruct(value) if is_record(value := getattr(rec, f.name)) else value
            for f in fields(rec)}


class GoStruct:
    """A report record as Podman's templates see its Go struct: `.OCIRuntime` is an attribute
    (an unknown field is an error, as in Go), while `__template_fields__` maps each JSON key to
    its attribute, so `{{json .Host.Security}}` prints the JSON keys, as Go's json does."""

    def __init__(self, rec):
        self.__dict__.update(go_fields(rec))
        self.__template_fields__ = {f.metadata["json"]: f.metadata["go"] for f in fields(rec)}


def _is_json(fmt: str) -> bool:
    """Whether --format asks for JSON ("json" or {{json .}}); a format that does not parse is
    left to `render_format`, which reports it."""
    from otter.cli.gotemplate import TemplateError, compile_format
    try:
        return compile_format(fmt).is_json
    except TemplateError:
        return False


def _format_parser(prog: str, description: str):
    from otter.cli.common import Parser
    p = Parser(prog, description)
    p.add_argument("-f", "--format", help="Change the output format to JSON or a Go template")
    return p


# -- YAML (info's default output) ----------------------------------------------------------------

_YAML_SPECIAL_START = tuple("-?:,[]{}#&*!|>'\"%@`") + (" ",)
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def _yaml_scalar(value, indent: str) -> str:
    """A scalar as Go's yaml.v2 writes it: multi-line strings as `|-` blocks, strings that
    would read back as something else double-quoted, awkward ones single-quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    if "\n" in value:
        return "|-\n" + "\n".join(indent + "  " + line for line in value.split("\n"))
    if value == "" or value.lower() in _YAML_WORDS or value.replace(".", "", 1).lstrip("-+").isdigit():
        return f'"{value}"'
    if value.startswith(_YAML_SPECIAL_START) or value.endswith(" ") or ": " in value or " #" in value:
        return "'" + value.replace("'", "''") + "'"
    return value


def yaml(doc: dict, indent: str = "") -> str:
    """A JSON document (maps, lists of scalars, scalars) as `podman info` prints it: keys sorted."""
    out = []
    for key in sorted(doc):
        value = doc[key]
        if isinstance(value, dict) and value:
            out.append(f"{indent}{key}:\n" + yaml(value, indent + "  "))
        elif isinstance(value, list) and value:
            out.append(f"{indent}{key}:\n" + "".join(f"{indent}- {_yaml_scalar(v, indent)}\n" for v in value))
        else:
            empty = {dict: "{}", list: "[]"}.get(type(value))
            out.append(f"{indent}{key}: {empty or _yaml_scalar(value, indent)}\n")
    return "".join(out)


# -- info / version -------------------------------------------------------------------------------

def cmd_info(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.common import parse, write
    from otter.cli.output import print_json, render_format
    from otter.engine.system import info

    args = parse(_format_parser(prog, "Display otter system information"), argv)
    report = info(ctx.engine)
    if not args.format:
        write(yaml(plain(report)))
    elif _is_json(args.format):
        print_json(plain(report))
    else:
        write(render_format(args.format, [go_fields(report)]))
    return 0


def cmd_version(ctx, argv: list[str], prog: str) -> int:
    import sys

    from otter.engine.system import version_info

    fmt = None
    if argv:    # only flags need the parser; plain `otter version` stays as fast as `otter --version`
        from otter.cli.common import parse
        fmt = parse(_format_parser(prog, "Display the otter version information"), argv).format
    v = version_info()
    if not fmt:
        from otter.cli.tabwriter import align
        sys.stdout.write(align([["Client:", "otter"], ["Version:", v.version], ["API Version:", v.api_version],
                                ["Python Version:", v.python_version], ["Built:", v.built_time],
                                ["OS/Arch:", v.os_arch]]) + "\n")
    elif _is_json(fmt):
        from otter import jsoncodec
        # One line, as Podman prints it.
        sys.stdout.write(jsoncodec.dumps({"Client": plain(v)}, separators=(",", ":")) + "\n")
    else:
        from otter.cli.output import render_format
        sys.stdout.write(render_format(fmt, [{"Client": GoStruct(v)}]))
    return 0


# -- system ------------------------------------------------------------------------------------

SUBCOMMANDS = {"info": "cmd_info", "df": "cmd_df", "prune": "cmd_prune", "events": "cmd_events"}


def cmd_system(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.common import dispatch
    return dispatch(ctx, argv, prog, "Manage otter", {verb: globals()[fn] for verb, fn in SUBCOMMANDS.items()})


def cmd_events(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.events import cmd_events as events
    return events(ctx, argv, prog)


DF_HEADERS = {"Type": "TYPE", "Total": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}


def _reclaimable(amount: int, size: int) -> str:
    """`12B (50%)`: the percentage rounded half up, as Go's math.Round does for these."""
    return f"{units_size(amount)} ({int(amount / size * 100 + 0.5) if size else 0}%)"


def cmd_df(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.common import Parser, parse, write
    from otter.cli.output import print_json, render_format, tabulate
    from otter.engine.system import disk_usage

    p = Parser(prog, "Show otter disk usage")
    p.add_argument("--format", help="Pretty-print images using a Go template")
    p.add_bool("-v", "--verbose", help="Show detailed information on disk usage")
    args = parse(p, argv)
    usage = disk_usage(ctx.engine)
    if args.verbose:    # as in Podman, --verbose wins over --format
        write(_df_verbose(usage))
        return 0
    summary = usage.summary()
    # Podman's struct has the raw numbers under their JSON names and methods printing them.
    docs = [{"Type": s.type, "Total": s.total, "Active": s.active, "Size": s.size, "Reclaimable": s.reclaimable}
            for s in summary]
    rows = [{"Type": s.type, "Total": s.total, "Active": s.active, "Size": units_size(s.size),
             "Reclaimable": _reclaimable(s.reclaimable, s.size), "RawSize": s.size, "RawReclaimable": s.reclaimable}
            for s in summary]
    if args.format and args.format.strip() == "json":
        print_json(docs)     # Podman 4.3.1 prints the word "json" per row here; this is what it means
    elif args.format:
        write(render_format(args.format, docs if _is_json(args.format) else rows, DF_HEADERS))
    else:
        cols = list(DF_HEADERS)
        write(tabulate([[DF_HEADERS[c] for c in cols]] + [[str(r[c]) for c in cols] for r in rows]))
    return 0


def _df_verbose(usage) -> str:
    import time

    from otter.cli.output import human_duration, tabulate

    now = time.time()
    images = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]]
    images += [[row.repository, row.tag, row.image.id[:12], human_duration(now - row.image.created),
                units_size(row.image.size), units_size(0), units_size(row.image.size), str(row.containers)]
               for row in usage.images]
    containers = [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]]
    containers += [[c.container.id[:12], c.container.config.image_id[:12], " ".join(c.container.config.command),
                    str(c.volumes), units_size(c.size), human_duration(now - c.container.config.created),
                    c.container.state, c.container.name] for c in usage.containers]
    volumes = [["VOLUME NAME", "LINKS", "SIZE"]]
    volumes += [[v.volume.name, str(v.links), units_size(v.size)] for v in usage.volumes]
    return "\n".join(f"{title} space usage:\n\n{tabulate(table)}" for title, table in
                     (("Images", images), ("Containers", containers), ("Local Volumes", volumes)))


def cmd_prune(ctx, argv: list[str], prog: str) -> int:
    import sys

    from otter.cli.common import Parser, parse, write
    from otter.engine.system import system_prune

    p = Parser(prog, "Remove unused data")
    p.add_bool("-a", "--all", help="Remove all unused data")
    p.add_bool("-f", "--force", help="Do not prompt for confirmation.  The default is false")
    p.add_bool("--volumes", help="Prune volumes")
    args = parse(p, argv)
    if not args.force:
        removes = ["all stopped containers"]
        removes += ["all volumes not used by at least one container"] if args.volumes else []
        removes += ["all images without at least one container associated to them" if args.all
                    else "all dangling images"]
        write("WARNING! This command removes:\n" + "".join(f"\t- {r}\n" for r in removes) +
              "\nAre you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if not sys.stdin.readline().lower().startswith("y"):
            return 0
    report = system_prune(ctx.engine, all_images=args.all, volumes=args.volumes)
    for title, ids in (("Containers", report.containers), ("Volumes", report.volumes), ("Images", report.images)):
        if ids:
            write(f"Deleted {title}\n" + "".join(i + "\n" for i in ids))
    write(f"Total reclaimed space: {units_size(report.reclaimed)}\n")
    return 0
