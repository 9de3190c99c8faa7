"""Argument parsing shared by every command: Podman-style usage errors and flag helpers."""

from __future__ import annotations

import argparse
import sys

from otter.cli.main import UsageError


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse builds a formatter for every `add_argument` (to check metavars), and each one
    asks the terminal for its size: milliseconds per command. A fixed width costs nothing."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=100)


class Parser(argparse.ArgumentParser):
    """argparse with Podman's conventions: `Error: ...` and exit 125 on bad usage, boolean
    flags that accept `--flag=false`, and `--` ending the options."""

    def __init__(self, prog: str, description: str = "", **kw):
        # -h is a value flag for some commands (`run -h HOSTNAME`); help is --help everywhere.
        super().__init__(prog=prog, description=description, allow_abbrev=False, add_help=False,
                         formatter_class=_Formatter, **kw)
        self.add_argument("--help", action="help", help="Help for this command")
        self.bool_flags: dict[str, str] = {}   # flag ("--rm", "-a") -> dest

    def error(self, message: str):  # type: ignore[override]
        message = message.replace("unrecognized arguments:", "unknown flag:")
        raise UsageError(f"{message}\nSee '{self.prog} --help'")

    def add_bool(self, *flags: str, help: str, default: bool = False, dest: str | None = None) -> None:
        """A boolean flag that also takes an explicit value: `--rm`, `--rm=true`, `--rm=false`.
        As with cobra, a value is only taken after `=`, never from the next argument."""
        action = self.add_argument(*flags, action="store_true", default=default, help=help, dest=dest)
        for flag in flags:
            self.bool_flags[flag] = action.dest


def parse_bool(text) -> bool:
    if isinstance(text, bool):
        return text
    value = text.lower()
    if value in ("true", "1", "t", "yes"):
        return True
    if value in ("false", "0", "f", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def parse(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """Parse, accepting `--flag=true|false` for boolean flags and options after positionals
    (as cobra does)."""
    explicit: dict[str, bool] = {}
    args: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            args += argv[i:]
            break
        name, eq, value = arg.partition("=")
        if eq and name in parser.bool_flags:
            try:
                explicit[parser.bool_flags[name]] = parse_bool(value)
            except argparse.ArgumentTypeError as e:
                parser.error(f"invalid argument {value!r} for {name!r} flag: {e}")
            continue
        args.append(arg)
    ns = parser.parse_intermixed_args(args) if "--" not in args else parser.parse_args(args)
    for dest, value in explicit.items():
        setattr(ns, dest, value)
    return ns


def write(text: str) -> None:
    sys.stdout.write(text)


def dispatch(ctx, argv: list[str], prog: str, title: str, verbs: dict) -> int:
    """Run `prog VERB ARGS...` for a command group (image, container, volume): `verbs` maps
    each verb to its command function `(ctx, argv, prog) -> int`."""
    if not argv or argv[0] in ("-h", "--help"):
        write(f"{title}\n\nUsage:\n  {prog} [command]\n\nAvailable Commands:\n" +
              "".join(f"  {name}\n" for name in sorted(verbs)))
        return 0 if argv else 125
    verb = verbs.get(argv[0])
    if verb is None:
        raise UsageError(f"unrecognized command `{prog} {argv[0]}`\nTry '{prog} --help' for more information")
    return verb(ctx, argv[1:], f"{prog} {argv[0]}")


def parse_with_command(parser: Parser, argv: list[str], prog: str, required: int) -> tuple[argparse.Namespace, list[str]]:
    """Parse `[options] NAME [COMMAND [ARG...]]` (run, create, exec): `NAME` is the parser's one
    positional; returns the parsed options and the command after it. `required` counts NAME
    and the command words that must follow (Podman's "requires at least N arg(s)")."""
    opts, rest = split_command(parser, argv)
    if "--help" in opts:
        parser.parse_args(["--help"])
    # Flags first (a stand-in NAME when there is none), so that a bad flag is the error Podman reports.
    args = parse(parser, opts + (rest[:1] or ["-"]))
    if len(rest) < required:
        raise UsageError(f"{prog} requires at least {required} arg(s), only received {len(rest)}\n"
                         f"See '{prog} --help'")
    return args, rest[1:]


def split_command(parser: Parser, argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `[options] IMAGE [COMMAND [ARG...]]`: options end at the first positional, so the
    container's own flags (`run img ls -l`) are not taken as ours."""
    takes_value = {opt for action in parser._actions for opt in action.option_strings
                   if action.nargs is None and not isinstance(action, (argparse._StoreTrueAction,
                                                                        argparse._HelpAction))}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv[:i], argv[i + 1:]
        if not arg.startswith("-") or arg == "-":
            return argv[:i], argv[i:]
        if arg.startswith("--"):
            if "=" not in arg and arg in takes_value:
                i += 1
        elif len(arg) == 2 and arg in takes_value:
            i += 1
        elif len(arg) > 2 and not arg.startswith("--"):
            # Combined short flags: "-it"; a value-taking flag ends the group ("-ePATH=x").
            for j, ch in enumerate(arg[1:], start=1):
                if f"-{ch}" in takes_value:
                    if j == len(arg) - 1:
                        i += 1
                    break
        i += 1
    return argv, []


def exists_command(ctx, argv: list[str], prog: str, noun: str, exists) -> int:
    """`otter NOUN exists NAME`: exit 0 when `exists(engine, NAME)`, 1 when not (Podman)."""
    p = Parser(prog, f"Check if a {noun} exists in local storage")
    p.add_argument("name", metavar=noun.upper())
    args = parse(p, argv)
    return 0 if exists(ctx.engine, args.name) else 1
