"""Output helpers: Podman's table layout, human sizes and durations, and `--format`."""

from __future__ import annotations

import sys
import time

from otter import jsoncodec


def tabulate(rows: list[list[str]]) -> str:
    """Rows of cells as Podman prints a default table (tabwriter: min width 12, padding 2)."""
    from otter.cli.tabwriter import align
    return align(rows) + "\n" if rows else ""


def human_size(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): decimal units, three significant digits."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.3g} {units[i]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ago(ts: float, now: float | None = None) -> str:
    return human_duration((now or time.time()) - ts) + " ago"


def print_json(obj) -> None:
    sys.stdout.write(jsoncodec.dumps(obj, indent=4, ensure_ascii=False) + "\n")


class Record:
    """One row for a template. Its top-level fields are attributes, so an unknown field is an
    error as with Podman's structs (a dict would answer `<no value>`); nested maps stay maps
    for `index` and `.Key`. `__template_fields__` keeps the field order for `{{json .}}`."""

    def __init__(self, fields: dict):
        self.__dict__.update(fields)
        self.__template_fields__ = {name: name for name in fields}


def _plain_fields(fmt: str, rows: list) -> str | None:
    """The output of a format that is only text and `{{.Field}}` actions over string or
    integer fields (`{{.Names}}`, `{{.ID}}\t{{.Image}}`: what scripts use), made without the
    template engine, whose import costs more than such a listing. None: use the engine."""
    if fmt.startswith("table") or "{{" not in fmt:
        return None
    text = fmt.replace("\\t", "\t").replace("\\n", "\n")
    parts = text.split("{{")
    pieces: list[tuple[str, str]] = [("", parts[0])]
    for part in parts[1:]:
        action, sep, literal = part.partition("}}")
        name = action.strip()
        if not sep or "}}" in literal or not name.startswith(".") or not name[1:].isidentifier():
            return None
        pieces.append((name[1:], literal))
    names = [name for name, _ in pieces if name]
    for row in rows:
        if any(not isinstance(row.get(n), (str, int)) or isinstance(row.get(n), bool) for n in names):
            return None
    end = "" if text.endswith("\n") else "\n"
    return "".join("".join((str(row[name]) if name else "") + literal for name, literal in pieces) + end
                   for row in rows)


def render_format(fmt: str, rows: list, headers: dict[str, str] | None = None, noheading: bool = False) -> str:
    """Render a user `--format` over rows (dicts keyed by Go field names): `json` prints one
    JSON array, `{{json .}}` one object per line (Podman >= 4.4), a `table` format a header row
    and aligned columns. A template that does not parse or names an unknown field is an
    InvalidArgument (exit 125) naming the position."""
    if fmt.strip() == "json":
        return jsoncodec.dumps(rows, indent=4, ensure_ascii=False) + "\n"
    fast = _plain_fields(fmt, rows)
    if fast is not None:
        return fast
    from otter.cli.gotemplate import TemplateError, compile_format, render_table
    from otter.errors import InvalidArgument

    records = [Record(row) for row in rows]
    try:
        compiled = compile_format(fmt)
        if compiled.is_table:
            text = render_table(compiled, records, headers, noheading)
            return text if text.endswith("\n") or not text else text + "\n"
        return "".join(compiled.render(row) for row in records)
    except TemplateError as e:
        raise InvalidArgument(str(e)) from None
