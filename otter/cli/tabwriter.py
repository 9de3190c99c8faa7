"""Column alignment as Go's text/tabwriter does it with Podman's settings (min width 12,
padding 2): tab-separated cells become space-padded columns; a line's last cell, which no
tab ends, belongs to no column."""

from __future__ import annotations

TABLE_MINWIDTH = 12
TABLE_PADDING = 2


def align(lines: list[list[str]]) -> str:
    """Lines of cells -> aligned text (lines joined with newlines, no trailing newline added)."""
    out: list[str] = []
    _align(lines, [], 0, len(lines), out)
    return "\n".join(out)


def _align(lines: list[list[str]], widths: list[int], first: int, stop: int, out: list[str]) -> None:
    """Go tabwriter's format(): lines[first:stop] have their first len(widths) columns sized;
    size the next column over each block of consecutive lines that have a cell in it (a line's
    last cell, which no tab ends, belongs to no column), recursing for the columns after it."""
    column = len(widths)
    line = first
    while line < stop:
        if column >= len(lines[line]) - 1:
            line += 1
            continue
        _emit(lines, widths, first, line, out)
        first = line
        width = TABLE_MINWIDTH
        while line < stop and column < len(lines[line]) - 1:
            width = max(width, len(lines[line][column]) + TABLE_PADDING)
            line += 1
        widths.append(width)
        _align(lines, widths, first, line, out)
        widths.pop()
        first = line
    _emit(lines, widths, first, stop, out)


def _emit(lines: list[list[str]], widths: list[int], first: int, stop: int, out: list[str]) -> None:
    for cells in lines[first:stop]:
        out.append("".join(cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(cells)))
