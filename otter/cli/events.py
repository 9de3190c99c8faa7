"""`otter events` (and `otter system events`): the events log, printed as Podman 4.3.1 prints it.

Three outputs, as Podman chooses them: `--format json` or `{{json .}}` prints each event as its
JSON line; another `--format` renders the Go template over each event, whose fields are Podman's
(.ID .Image .Name .Status .Time .Type .Attributes .ContainerExitCode, `.Time` printed as Go
prints a time.Time); without `--format`, one human line per event:

    2026-12-03 08:00:00.123456789 +0000 UTC container start 1b2c3d... (image=localhost/busybox:latest, name=web)

By default the command streams: it prints the events that happen from now on (with `--since`,
the recorded ones from then first) until interrupted or until `--until` has passed.
`--stream=false` prints what is recorded and exits.
"""

from __future__ import annotations

import sys

from otter.cli.common import Parser, parse
from otter.timefmt import go_time


def human(ev, truncate: bool) -> str:
    """Podman's Event.ToHumanReadable: containers with their image, name and labels; images
    with their ID and name; volumes by name. `truncate` shortens IDs to 12 characters."""
    ident = ev.id[:12] if truncate else ev.id
    head = f"{go_time(ev.time)} {ev.type} {ev.status}"
    if ev.type == "container":
        extra = "".join(f", {k}={v}" for k, v in (ev.attributes or {}).items())
        return f"{head} {ident} (image={ev.image}, name={ev.name}{extra})"
    if ev.type == "image":
        return f"{head} {ident} {ev.name}"
    return f"{head} {ev.name}"


def template_fields(ev) -> dict:
    """An event as Podman's templates see its Go struct (a nil Attributes map prints `map[]`)."""
    return {"ContainerExitCode": ev.exit_code, "ID": ev.id, "Image": ev.image, "Name": ev.name,
            "Status": ev.status, "Time": go_time(ev.time), "Type": ev.type, "Attributes": ev.attributes or {}}


def _printer(fmt: str | None, no_trunc: bool):
    """A function turning an event into its output text (with the newline)."""
    if not fmt:
        return lambda ev: human(ev, not no_trunc) + "\n"
    from otter.cli.gotemplate import TemplateError, compile_format
    from otter.errors import InvalidArgument
    try:
        compiled = compile_format(fmt)
    except TemplateError as e:
        raise InvalidArgument(str(e)) from None
    if compiled.is_json:
        from otter import jsoncodec
        return lambda ev: jsoncodec.dumps(ev.document(), separators=(",", ":"), ensure_ascii=False) + "\n"
    from otter.cli.output import Record

    def render(ev) -> str:
        try:
            return compiled.render(Record(template_fields(ev)))
        except TemplateError as e:
            raise InvalidArgument(str(e)) from None
    return render


def cmd_events(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Show otter events")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="filter output (container=, event=, image=, label=, type=, volume=)")
    p.add_argument("--format", help="format the output using a Go template")
    p.add_bool("--no-trunc", default=True, help="do not truncate the output (default true)")
    p.add_argument("--since", help="show all events created since timestamp")
    p.add_bool("--stream", default=True,
               help="stream new events until interrupted; --stream=false prints the recorded ones (default true)")
    p.add_argument("--until", help="show all events until timestamp")
    args = parse(p, argv)
    from otter.engine.events import follow, parse_filters, read_events
    from otter.engine.logs import parse_time
    filters = parse_filters(args.filter)
    since = int(parse_time(args.since) * 1e9) if args.since else None
    until = int(parse_time(args.until, ahead=True) * 1e9) if args.until else None
    out = _printer(args.format, args.no_trunc)
    eng = ctx.engine
    if not args.stream:
        sys.stdout.write("".join(out(ev) for ev in read_events(eng, since, until, filters)))
        return 0
    for ev in follow(eng, since, until, filters):
        sys.stdout.write(out(ev))
        sys.stdout.flush()
    return 0
