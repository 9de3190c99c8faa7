"""`otter unshare [COMMAND]`: run a command inside otter's rootless user namespace, as Podman's
`podman unshare` does (e.g. to remove store files owned by subordinate ids)."""

from __future__ import annotations

import os

from otter.cli.common import Parser, split_command
from otter.errors import InvalidArgument


def cmd_unshare(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Run a command in a modified user namespace")
    p.add_argument("command", nargs="?", help="command to run (default: $SHELL)")
    opts, command = split_command(p, argv)
    p.parse_args(opts)
    from otter.sys.userns import rootless_uid
    if rootless_uid() is None:
        raise InvalidArgument("please use unshare with rootless")
    command = command or [os.environ.get("SHELL") or "/bin/sh"]
    env = dict(os.environ, CONTAINERS_GRAPHROOT=ctx.engine.paths.root, CONTAINERS_RUNROOT=ctx.engine.paths.runroot)
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        raise InvalidArgument(f"{command[0]}: executable file not found in $PATH") from None
