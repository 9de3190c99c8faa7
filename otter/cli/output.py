"""Output helpers: Podman's table layout, human sizes and durations, and `--format`.

Tables follow Go's tabwriter as Podman configures it (min width 12, padding 2): a column is
as wide as its widest cell plus two spaces, and at least 12.
"""

from __future__ import annotations

import json
import sys
import time

MIN_WIDTH = 12
PADDING = 2


def tabulate(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for r in rows:
        for i, cell in enumerate(r[:-1] if len(r) == ncols else r):
            widths[i] = max(widths[i], len(cell) + PADDING, MIN_WIDTH)
    out = []
    for r in rows:
        cells = [cell.ljust(widths[i]) if i < len(r) - 1 else cell for i, cell in enumerate(r)]
        out.append("".join(cells).rstrip() if len(r) == 1 else "".join(cells))
    return "\n".join(out) + "\n"


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


def go_time(ts: float) -> str:
    """Go's time.Time.String() in local time: `2026-12-03 06:44:27.123456789 +0000 UTC`."""
    lt = time.localtime(ts)
    frac = f"{ts % 1:.9f}"[2:].rstrip("0")
    zone = time.strftime("%z", lt)
    return time.strftime("%Y-%m-%d %H:%M:%S", lt) + (f".{frac}" if frac else "") + f" {zone} {time.strftime('%Z', lt)}"


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=4, ensure_ascii=False) + "\n")


def render_format(fmt: str, rows: list, headers: dict[str, str] | None = None, noheading: bool = False) -> str:
    """Render a user `--format` over rows (dicts keyed by Go field names). A `table` format
    prints a header row and aligns columns as Podman does."""
    from otter.cli.gotemplate import compile_format

    compiled = compile_format(fmt)
    if compiled.is_json:
        return json.dumps(rows, indent=4, ensure_ascii=False) + "\n"
    if not compiled.is_table:
        return "".join(_line(compiled.render(row)) for row in rows)
    table: list[list[str]] = []
    if not noheading:
        table.append([(headers or {}).get(h, h) for h in compiled.headers()])
    for row in rows:
        table.append(compiled.render(row).split("\t"))
    return tabulate(table)


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
