"""Argument parsing shared by every command, with Podman's (cobra's) conventions.

Vocabulary:
  flag        an option with a name: `--name web`, `--name=web`, `-n web`, `-nweb`; boolean
              flags take no value (`--rm`) unless written with `=` (`--rm=false`), and short
              booleans combine (`-it`). A value flag takes the next argument whatever it looks
              like (`--pids-limit -1`).
  positional  an argument without a name; `nargs` says how many it takes: None (exactly
              one), "?" (at most one), "*" (any), "+" (at least one). Flags may follow
              positionals (`rm web -f`); `--` ends the flags.
  action      what a flag does with its value: "store" (keep the last one), "append" (keep
              every one), "store_true" (booleans), "help" (print the help and exit 0).

Why not argparse: importing it (with gettext and locale) and building a parser for a command
with 60 flags cost about 4 ms on every command, more than all of this module does. The
interface is argparse's subset otter uses (`add_argument` with action, nargs, type, choices,
metavar, dest, default; a namespace of dests), so command modules read as argparse code.
Errors are `UsageError`s, Podman's wording, exit 125.
"""

from __future__ import annotations

import sys

from otter.cli.main import UsageError


class Namespace:
    """The parsed command line: one attribute per action's `dest` (argparse's Namespace;
    `types.SimpleNamespace` would cost the import of `types`)."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return "Namespace(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


class Action:
    """One flag or positional of a parser."""

    __slots__ = ("option_strings", "dest", "kind", "nargs", "type", "choices", "default", "metavar", "help")

    def __init__(self, option_strings: tuple[str, ...], dest: str, kind: str, nargs, type, choices, default,
                 metavar, help):
        self.option_strings = option_strings
        self.dest = dest
        self.kind = kind
        # argparse's convention: 0 for flags without a value, None for one value.
        self.nargs = 0 if kind in ("store_true", "help") else nargs
        self.type = type
        self.choices = choices
        self.default = default
        self.metavar = metavar
        self.help = help

    @property
    def takes_value(self) -> bool:
        return bool(self.option_strings) and self.nargs is None

    def display(self) -> str:
        return "/".join(self.option_strings) or (self.metavar or self.dest.upper())


class Parser:
    """The flags and positionals of one command. `parse(parser, argv)` applies them."""

    def __init__(self, prog: str, description: str = ""):
        self.prog = prog
        self.description = description
        self.actions: list[Action] = []
        self._flags: dict[str, Action] = {}
        # -h is a value flag for some commands (`run -h HOSTNAME`); help is --help everywhere.
        self.add_argument("--help", action="help", help="Help for this command")

    def add_argument(self, *names: str, action: str = "store", nargs=None, type=None, choices=None, default=None,
                     metavar: str | None = None, dest: str | None = None, help: str | None = None) -> Action:
        flags = tuple(n for n in names if n.startswith("-"))
        if flags:
            long = next((f for f in flags if f.startswith("--")), flags[0])
            dest = dest or long.lstrip("-").replace("-", "_")
        else:
            dest = dest or names[0]
        if action == "append" and default is None:
            default = []
        act = Action(flags, dest, action, nargs, type, choices, default, metavar, help)
        self.actions.append(act)
        for flag in flags:
            self._flags[flag] = act
        return act

    def add_bool(self, *flags: str, help: str, default: bool = False, dest: str | None = None) -> Action:
        """A boolean flag that also takes an explicit value: `--rm`, `--rm=true`, `--rm=false`.
        As with cobra, a value is only taken after `=`, never from the next argument."""
        return self.add_argument(*flags, action="store_true", default=default, help=help, dest=dest)

    def flag(self, name: str) -> Action | None:
        return self._flags.get(name)

    def error(self, message: str):
        raise UsageError(f"{message}\nSee '{self.prog} --help'")

    def parse_args(self, argv: list[str]) -> Namespace:
        return parse(self, argv)

    def format_help(self) -> str:
        positionals = [a for a in self.actions if not a.option_strings]
        words = []
        for a in positionals:
            name = a.metavar or a.dest.upper()
            words.append({"?": f"[{name}]", "*": f"[{name}...]", "+": f"{name} [{name}...]"}.get(a.nargs, name))
        lines = [self.description, "", "Usage:", "  " + " ".join([self.prog, "[options]", *words]), "", "Options:"]
        rows = []
        for a in self.actions:
            if not a.option_strings:
                continue
            short = next((f for f in a.option_strings if not f.startswith("--")), "")
            long = ", ".join(f for f in a.option_strings if f.startswith("--"))
            name = (f"{short}, " if short else "    ") + long + (" string" if a.takes_value else "")
            rows.append((name, a.help or ""))
        width = max(len(name) for name, _ in rows)
        lines += [f"  {name:<{width}}   {text}" for name, text in rows]
        return "\n".join(lines) + "\n"

    def print_help(self, file=None) -> None:
        (file or sys.stdout).write(self.format_help())


def parse_bool(text: str) -> bool:
    value = text.lower()
    if value in ("true", "1", "t", "yes"):
        return True
    if value in ("false", "0", "f", "no"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {text!r}: invalid syntax")


def _convert(parser: Parser, action: Action, text: str):
    value = text
    if action.type is not None:
        try:
            value = action.type(text)
        except ValueError as e:
            parser.error(f"invalid argument {text!r} for {action.display()!r} flag: {e}")
    if action.choices is not None and value not in action.choices:
        parser.error(f"invalid argument {text!r} for {action.display()!r}: invalid choice: {text!r} "
                     f"(choose from {', '.join(map(str, action.choices))})")
    return value


def parse(parser: Parser, argv: list[str]) -> Namespace:
    """Apply `argv` to the parser: a namespace of every action's `dest`."""
    ns = Namespace(**{a.dest: list(a.default) if a.kind == "append" else a.default
                           for a in parser.actions if a.kind != "help"})
    positionals: list[str] = []

    def apply(action: Action, value) -> None:
        if action.kind == "help":
            parser.print_help()
            raise SystemExit(0)
        if action.kind == "append":
            getattr(ns, action.dest).append(_convert(parser, action, value))
        elif action.kind == "store_true":
            setattr(ns, action.dest, value)
        else:
            setattr(ns, action.dest, _convert(parser, action, value))

    def boolean(action: Action, flag: str, text: str) -> bool:
        try:
            return parse_bool(text)
        except ValueError as e:
            parser.error(f"invalid argument {text!r} for {flag!r} flag: {e}")

    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positionals += argv[i:]
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            action = parser.flag(name)
            if action is None:
                parser.error(f"unknown flag: {name}")
            if action.nargs == 0:
                apply(action, boolean(action, name, value) if eq else True)
                continue
            if not eq:
                if i >= len(argv):
                    parser.error(f"flag needs an argument: {name}")
                value = argv[i]
                i += 1
            apply(action, value)
        elif arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                letter = arg[j]
                action = parser.flag("-" + letter)
                if action is None:
                    parser.error(f"unknown shorthand flag: {letter!r} in {arg}")
                rest = arg[j + 1:]
                if action.nargs == 0:
                    if rest.startswith("="):
                        apply(action, boolean(action, "-" + letter, rest[1:]))
                        break
                    apply(action, True)
                    j += 1
                    continue
                if rest:
                    value = rest[1:] if rest.startswith("=") else rest
                else:
                    if i >= len(argv):
                        parser.error(f"flag needs an argument: {letter!r} in {arg}")
                    value = argv[i]
                    i += 1
                apply(action, value)
                break
        else:
            positionals.append(arg)
    _assign_positionals(parser, ns, positionals)
    return ns


_MINIMUM = {None: 1, "?": 0, "*": 0, "+": 1}


def _assign_positionals(parser: Parser, ns: Namespace, values: list[str]) -> None:
    """Left to right, each positional takes what it can while leaving the later ones their
    minimum."""
    wanted = [a for a in parser.actions if not a.option_strings]
    need = sum(_MINIMUM[a.nargs] for a in wanted)
    if len(values) < need:
        parser.error(f"{parser.prog} requires at least {need} arg(s), only received {len(values)}")
    unbounded = any(a.nargs in ("*", "+") for a in wanted)
    most = len([a for a in wanted if a.nargs in (None, "?")])
    if not unbounded and len(values) > most:
        parser.error(f"accepts at most {most} arg(s), received {len(values)}")
    pos = 0
    for k, action in enumerate(wanted):
        later = sum(_MINIMUM[a.nargs] for a in wanted[k + 1:])
        spare = len(values) - pos - later
        if action.nargs is None:
            setattr(ns, action.dest, _convert(parser, action, values[pos]))
            pos += 1
        elif action.nargs == "?":
            if spare > 0:
                setattr(ns, action.dest, _convert(parser, action, values[pos]))
                pos += 1
        else:
            setattr(ns, action.dest, [_convert(parser, action, v) for v in values[pos:pos + spare]])
            pos += spare


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


def parse_with_command(parser: Parser, argv: list[str], prog: str, required: int) -> tuple[Namespace, list[str]]:
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
    takes_value = {opt for action in parser.actions if action.takes_value for opt in action.option_strings}
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
