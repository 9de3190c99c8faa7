"""`otter stats --no-stream`: one sample of each container's resource usage, as Podman 4.3.1 prints it.

Only `--no-stream` is supported: a live display is refused with an error saying so.
"""

from __future__ import annotations

from otter.cli.common import Parser, parse, write
from otter.cli.main import UsageError
from otter.cli.output import print_json, render_format, tabulate
from otter.cli.system import units_size

# Header overrides for `table` formats and the default table (Podman's stats headers).
STATS_HEADERS = {"ID": "ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
                 "MemPerc": "MEM %", "NetIO": "NET IO", "BlockIO": "BLOCK IO", "PIDS": "PIDS", "UpTime": "CPU TIME",
                 "AVGCPU": "AVG CPU %", "MemUsageBytes": "MEM USAGE / LIMIT"}
DEFAULT_COLUMNS = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDS", "UpTime", "AVGCPU"]


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): `0s`, `750ns`, `1.5µs`, `39.133736ms`, `2m3.5s`, `1h0m0s`."""
    def decimal(value: int, unit: int) -> str:
        whole, part = divmod(value, unit)
        digits = str(part).rjust(len(str(unit)) - 1, "0").rstrip("0")
        return f"{whole}.{digits}" if digits else str(whole)

    if ns < 1000:
        return f"{ns}ns" if ns else "0s"
    if ns < 10**6:
        return decimal(ns, 1000) + "µs"
    if ns < 10**9:
        return decimal(ns, 10**6) + "ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + decimal(rest, 10**9) + "s"


def _pair(a: int, b: int, binary: bool = False) -> str:
    return f"{units_size(a, binary)} / {units_size(b, binary)}"


def _fields(s, no_trunc: bool) -> dict:
    """A sample as Podman's template struct shows it: its methods' strings (CPUPerc, MemUsage,
    ...) and the raw numbers beside them. With one sample the average CPU is that sample's."""
    return {
        "ID": s.container_id if no_trunc else s.container_id[:12], "ContainerID": s.container_id, "Name": s.name,
        "CPUPerc": f"{s.cpu_percent:.2f}%", "AVGCPU": f"{s.cpu_percent:.2f}%", "CPU": s.cpu_percent,
        "AvgCPU": s.cpu_percent, "CPUNano": s.cpu_nano, "UpTime": go_duration(s.cpu_nano),
        "MemUsage": _pair(s.mem_usage, s.mem_limit), "MemUsageBytes": _pair(s.mem_usage, s.mem_limit, binary=True),
        "MemPerc": f"{s.mem_percent:.2f}%", "MemLimit": s.mem_limit, "NetIO": _pair(s.net_input, s.net_output),
        "NetInput": s.net_input, "NetOutput": s.net_output, "BlockIO": _pair(s.block_input, s.block_output),
        "BlockInput": s.block_input, "BlockOutput": s.block_output, "PIDS": str(s.pids), "PIDs": s.pids,
    }


def _json(row: dict) -> dict:
    """Podman's `--format json` object: the printed strings under snake_case keys."""
    return {"id": row["ID"], "name": row["Name"], "cpu_time": row["UpTime"], "cpu_percent": row["CPUPerc"],
            "avg_cpu": row["AVGCPU"], "mem_usage": row["MemUsage"], "mem_percent": row["MemPerc"],
            "net_io": row["NetIO"], "block_io": row["BlockIO"], "pids": row["PIDS"]}


def cmd_stats(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Display container resource usage statistics")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_bool("-a", "--all",
               help="Show all containers. Only running containers are shown by default. The default is false")
    p.add_argument("--format", help="Pretty-print container statistics to JSON or using a Go template")
    p.add_bool("-l", "--latest", help="Act on the latest container otter is aware of")
    p.add_bool("--no-stream",
               help="Disable streaming stats and only pull the first result (required: otter does not stream yet)")
    p.add_bool("--no-trunc", help="Do not truncate output")
    args = parse(p, argv)
    if sum((args.all, args.latest, bool(args.containers))) > 1:
        raise UsageError("--all, --latest and containers cannot be used together")
    if not args.no_stream:
        raise UsageError("otter stats does not stream yet: use --no-stream for a single sample")
    from otter.engine.stats import container_stats
    rows = [_fields(s, args.no_trunc)
            for s in container_stats(ctx.engine, args.containers, all_containers=args.all, latest=args.latest)]
    if args.format and args.format.strip() == "json":
        print_json([_json(row) for row in rows])
    elif args.format:
        write(render_format(args.format, rows, STATS_HEADERS))
    else:
        table = [[STATS_HEADERS[c] for c in DEFAULT_COLUMNS]] + [[row[c] for c in DEFAULT_COLUMNS] for row in rows]
        write(tabulate(table))
    return 0
