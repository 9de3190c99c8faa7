"""`otter completion bash|zsh|fish`: shell completion scripts generated from the command table.

Vocabulary:
  path    the words naming a command, "otter" first: "otter", "otter ps", "otter volume rm".
  spec    what completion knows about one path (`CommandSpec`): its subcommands, its flags
          (which take a value, which values they accept) and what its arguments name: a
          container, an image, a volume, any of them (`inspect`), or fixed choices.
  probe   how a spec is learned. Command modules build their argument parser inside the
          command function, so `probe` runs the function with `--help` while the parser's
          `print_help` hands the parser back instead of printing; a command group answers
          `--help` with the list of its verbs, which are probed in turn.

The generated scripts carry the specs as data and one small parser of the command line each
(global flags, then the path, then the arguments so far). Object names are asked of otter
itself when completing (`otter ps -a --format {{.Names}}`, `otter images --format ...`,
`otter volume ls -q`), with the global flags already typed (`--root`, ...) passed on, so the
names come from the store the command line addresses.
"""

from __future__ import annotations

import re

from otter.cli.common import Parser, parse, write
from otter.record import record

KINDS = ("container", "image", "volume")


@record
class Flag:
    names: tuple[str, ...]          # "-a", "--all"
    help: str
    takes_value: bool
    choices: tuple[str, ...] = ()


@record
class CommandSpec:
    path: str
    help: str
    flags: tuple[Flag, ...]
    subcommands: tuple[tuple[str, str], ...] = ()   # (name, one-line help)
    kind: str = ""                  # what the first argument names: a KINDS entry, "any" or ""
    many: bool = False              # every argument names one (`rm a b c`), not only the first
    choices: tuple[str, ...] = ()   # fixed values for the first argument (`completion SHELL`)


# -- learning the command tree ----------------------------------------------------------------------

class _Parsed(Exception):
    """Raised instead of printing help: carries the parser a command built."""

    def __init__(self, parser: Parser):
        super().__init__(parser.prog)
        self.parser = parser


def probe(func, prog: str, verbs: tuple[str, ...] = ()) -> Parser | list[str]:
    """The parser `func` builds for `prog`, or for a command group the names of its verbs.
    `verbs` leads to a group's verb: `probe(cmd_volume, "otter volume rm", ("rm",))`. The
    command gets no context (None): one that reached for the store before parsing would fail
    here, loudly, rather than touch a store."""
    import contextlib
    import io

    def hand_back(parser, file=None):
        raise _Parsed(parser)

    saved = Parser.print_help
    Parser.print_help = hand_back
    listing = io.StringIO()
    try:
        with contextlib.redirect_stdout(listing):
            # "x": `run`, `create` and `exec` split their first argument off before parsing.
            func(None, [*verbs, "--help", "x"], prog.rsplit(" ", len(verbs))[0])
    except _Parsed as found:
        return found.parser
    finally:
        Parser.print_help = saved
    return listing.getvalue().partition("Available Commands:\n")[2].split()


def _flags(parser: Parser) -> tuple[Flag, ...]:
    return tuple(Flag(tuple(a.option_strings), a.help or "", a.nargs != 0, tuple(a.choices or ()))
                 for a in parser.actions if a.option_strings)


def _arguments(path: str, parser: Parser) -> dict:
    """What the first positional argument names, from its metavar or name: `CONTAINER`,
    `image`, `[CONTAINER:]SRC_PATH`; two kinds (`CONTAINER|IMAGE`), or the NAME of an inspect
    verb outside the container, image and volume groups, mean any object."""
    positionals = [a for a in parser.actions if not a.option_strings]
    if not positionals:
        return {}
    first = positionals[0]
    name = (first.metavar or first.dest).lower()
    kinds = [k for k in KINDS if k in name]
    words = path.split()
    if not kinds and words[-1] == "inspect":
        kinds = [words[1]] if words[1] in KINDS else list(KINDS)
    kind = kinds[0] if len(kinds) == 1 else "any" if kinds else ""
    return {"kind": kind, "many": first.nargs in ("*", "+"), "choices": tuple(first.choices or ())}


def _global_flags() -> tuple[Flag, ...]:
    """otter's own flags, read from the usage text that documents them."""
    from otter.cli.main import usage
    options = usage().partition("\nOptions:\n")[2]
    flags = []
    for line in options.splitlines():
        m = re.match(r"\s+(?:(-\w), )?(--[\w-]+)( string)?\s+(.+)$", line)
        if m:
            flags.append(Flag(tuple(n for n in (m[1], m[2]) if n), m[4], bool(m[3])))
    return tuple(flags)


def _specs(func, path: str, help_text: str = "", verbs: tuple[str, ...] = ()) -> list[CommandSpec]:
    """The specs of `path` and, for a group, of its verbs; a verb's help is its description."""
    found = probe(func, path, verbs)
    if isinstance(found, Parser):
        return [CommandSpec(path, help_text or found.description, _flags(found), **_arguments(path, found))]
    verb_specs = [_specs(func, f"{path} {name}", verbs=(*verbs, name)) for name in found]
    subcommands = tuple((name, specs[0].help) for name, specs in zip(found, verb_specs))
    group = CommandSpec(path, help_text, (Flag(("--help",), "Help for this command", False),), subcommands)
    return [group] + [spec for specs in verb_specs for spec in specs]


def command_specs() -> list[CommandSpec]:
    """The spec of otter itself and of every command and group verb, commands in name order."""
    from otter.cli.main import COMMANDS, resolve
    root = CommandSpec("otter", "", _global_flags(), tuple((name, COMMANDS[name][1]) for name in sorted(COMMANDS)))
    return [root] + [spec for name in sorted(COMMANDS) for spec in _specs(resolve(name), f"otter {name}",
                                                                         COMMANDS[name][1])]


# -- the scripts --------------------------------------------------------------------------------------

def _sh(text: str) -> str:
    """Quoted for bash and zsh: $'...' keeps newlines and quotes readable."""
    return "$'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _fish(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _names(flags: tuple[Flag, ...], values_only: bool = False) -> str:
    return " ".join(n for f in flags if f.takes_value or not values_only for n in f.names)


def _choices(specs: list[CommandSpec]) -> list[tuple[str, str]]:
    """("PATH|FLAG", "value value ...") for every flag that names its values."""
    return [(f"{s.path}|{name}", " ".join(f.choices)) for s in specs for f in s.flags if f.choices
            for name in f.names]


_NAMES_COMMANDS = """\
    if [[ $kind == container || $kind == any ]]; then otter "$@" ps -a --format '{{.Names}}' 2>/dev/null; fi
    if [[ $kind == image || $kind == any ]]; then
        otter "$@" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>'
    fi
    if [[ $kind == volume || $kind == any ]]; then otter "$@" volume ls -q 2>/dev/null; fi
"""

BASH = """\
# bash completion for otter: commands, subcommands, flags, container, image and volume names.
# Generated by `otter completion bash`; load it with `source <(otter completion bash)`.

# __otter_spec PATH: what the command PATH ("otter volume rm") takes: its subcommands (subs),
# flags, the flags taking a value (values), what its arguments name (kind: container, image,
# volume or any; many=1 when every argument names one) and fixed argument values (args).
__otter_spec() {
    subs='' flags='' values='' kind='' many=0 args=''
    case $1 in
@SPECS@    esac
}

# __otter_choices PATH FLAG: the values FLAG of PATH accepts, when it names them.
__otter_choices() {
    case "$1|$2" in
@CHOICES@    esac
}

# __otter_names KIND GLOBAL_FLAGS...: the names of the KIND objects in the store the flags select.
__otter_names() {
    local kind=$1
    shift
@NAMES@}

_otter() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd=otter word expect='' candidates='' i=1 npos=0
    local subs flags values kind many args
    local -a globals=()
    __otter_spec otter
    # Global flags, then the command path, then its arguments (flag values not counted). The
    # global flags are kept, so that names are looked up in the store they select.
    for (( ; i < COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        if [[ $cmd == otter && $word == -* || $cmd == otter && -n $expect ]]; then globals+=("$word"); fi
        if [[ -n $expect ]]; then
            expect=''
        elif [[ $word == -* ]]; then
            if [[ $word != *=* && " $values " == *" $word "* ]]; then expect=$word; fi
        elif (( npos == 0 )) && [[ " $subs " == *" $word "* ]]; then
            cmd+=" $word"
            __otter_spec "$cmd"
        else
            (( npos++ ))
        fi
    done
    if [[ -n $expect ]]; then
        candidates=$(__otter_choices "$cmd" "$expect")
    elif [[ $cur == -* ]]; then
        candidates=$flags
    elif [[ -n $subs ]]; then
        candidates=$subs
    elif (( npos == 0 || many )); then
        candidates=$args
        if [[ -n $kind ]]; then candidates+=" $(__otter_names "$kind" "${globals[@]}")"; fi
    fi
    COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}

complete -o default -F _otter otter
"""

ZSH = """\
#compdef otter
# zsh completion for otter: commands, subcommands, flags, container, image and volume names.
# Generated by `otter completion zsh`; load it with `source <(otter completion zsh)`, or save
# it as _otter in a directory of $fpath. (`cmd` holds the command path: zsh's `path` is $PATH.)

# Per command path ("otter volume rm"): subcommands (names, and name:help lines), flags
# (flag:help lines), the flags taking a value, what its arguments name (kind: container,
# image, volume or any; many=1 when every argument names one) and fixed argument values;
# per "PATH|FLAG" the values the flag accepts.
typeset -gA __otter_subs __otter_descs __otter_flags __otter_values __otter_kind __otter_many __otter_args
typeset -gA __otter_choices
@SPECS@
# __otter_names KIND GLOBAL_FLAGS...: the names of the KIND objects in the store the flags select.
__otter_names() {
    local kind=$1
    shift
@NAMES@}

_otter() {
    local cmd=otter word expect='' i=2 npos=0
    local -a globals candidates
    # Global flags, then the command path, then its arguments (flag values not counted). The
    # global flags are kept, so that names are looked up in the store they select.
    for (( ; i < CURRENT; i++ )); do
        word=${words[i]}
        if [[ $cmd == otter && ( $word == -* || -n $expect ) ]]; then globals+=($word); fi
        if [[ -n $expect ]]; then
            expect=''
        elif [[ $word == -* ]]; then
            if [[ $word != *=* ]] && (( ${${=__otter_values[$cmd]}[(Ie)$word]} )); then expect=$word; fi
        elif (( npos == 0 )) && (( ${${=__otter_subs[$cmd]}[(Ie)$word]} )); then
            cmd+=" $word"
        else
            (( npos++ ))
        fi
    done
    if [[ -n $expect ]]; then
        candidates=(${=__otter_choices[$cmd|$expect]})
        if (( $#candidates )); then compadd -a candidates; else _files; fi
    elif [[ $PREFIX == -* ]]; then
        candidates=(${(f)__otter_flags[$cmd]})
        _describe -t options option candidates
    elif [[ -n ${__otter_subs[$cmd]} ]]; then
        candidates=(${(f)__otter_descs[$cmd]})
        _describe -t commands command candidates
    elif (( npos == 0 || ${__otter_many[$cmd]:-0} )) && [[ -n ${__otter_kind[$cmd]}${__otter_args[$cmd]} ]]; then
        candidates=(${=__otter_args[$cmd]})
        if [[ -n ${__otter_kind[$cmd]} ]]; then
            candidates+=(${${(f)"$(__otter_names ${__otter_kind[$cmd]} $globals)"}:#})
        fi
        compadd -a candidates
    else
        _files
    fi
}

if [[ $funcstack[1] == _otter ]]; then
    _otter "$@"
else
    compdef _otter otter
fi
"""

FISH = """\
# fish completion for otter: commands, subcommands, flags, container, image and volume names.
# Generated by `otter completion fish`; load it with `otter completion fish | source`, or save
# it as ~/.config/fish/completions/otter.fish.

function __otter_subs --argument-names cmd --description 'The subcommands of a command path'
    switch $cmd
@SUBS@    end
end

function __otter_values --argument-names cmd --description 'The flags of a command path that take a value'
    switch $cmd
@VALUES@    end
end

function __otter_parse --description 'Set __otter_cmd, __otter_npos and __otter_globals from the command line'
    set -l line (commandline -opc)
    test "$line" = "$__otter_line"; and return
    set -g __otter_line $line
    set -g __otter_cmd otter
    set -g __otter_npos 0
    set -g __otter_globals
    set -l expect 0
    # Global flags, then the command path, then its arguments (flag values not counted). The
    # global flags are kept, so that names are looked up in the store they select.
    for word in $line[2..-1]
        if test "$__otter_cmd" = otter; and begin; string match -q -- '-*' $word; or test $expect -eq 1; end
            set -a __otter_globals $word
        end
        if test $expect -eq 1
            set expect 0
        else if string match -q -- '-*' $word
            if not string match -q -- '*=*' $word; and contains -- $word (__otter_values $__otter_cmd)
                set expect 1
            end
        else if test $__otter_npos -eq 0; and contains -- $word (__otter_subs $__otter_cmd)
            set __otter_cmd "$__otter_cmd $word"
        else
            set __otter_npos (math $__otter_npos + 1)
        end
    end
end

function __otter_at --argument-names cmd --description 'Whether the command line is at command PATH'
    __otter_parse
    test "$__otter_cmd" = "$cmd"
end

function __otter_wants --argument-names cmd many --description 'Whether an argument of PATH comes next'
    __otter_at $cmd; and begin; test $__otter_npos -eq 0; or test $many -eq 1; end
end

function __otter_names --argument-names kind --description 'Names of the KIND objects in the store addressed'
    __otter_parse
    if contains -- $kind container any; otter $__otter_globals ps -a --format '{{.Names}}' 2>/dev/null; end
    if contains -- $kind image any
        otter $__otter_globals images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*'
    end
    if contains -- $kind volume any; otter $__otter_globals volume ls -q 2>/dev/null; end
end

@COMPLETIONS@"""


def bash_script(specs: list[CommandSpec]) -> str:
    cases = "".join(
        f"    {_sh(s.path)}) subs={_sh(' '.join(n for n, _ in s.subcommands))} flags={_sh(_names(s.flags))} "
        f"values={_sh(_names(s.flags, values_only=True))} kind={s.kind or _sh('')} many={int(s.many)} "
        f"args={_sh(' '.join(s.choices))} ;;\n" for s in specs)
    choices = "".join(f"    {_sh(key)}) echo {_sh(values)} ;;\n" for key, values in _choices(specs))
    return BASH.replace("@SPECS@", cases).replace("@CHOICES@", choices).replace("@NAMES@", _NAMES_COMMANDS)


def zsh_script(specs: list[CommandSpec], descriptions: bool = True) -> str:
    def described(name: str, text: str) -> str:
        return f"{name}:{text}" if descriptions and text else name

    def table(name: str, pairs: list[tuple[str, str]]) -> str:
        return f"{name}=(\n" + "".join(f"    {_sh(key)} {_sh(value)}\n" for key, value in pairs) + ")\n"

    data = [
        table("__otter_subs", [(s.path, " ".join(n for n, _ in s.subcommands)) for s in specs if s.subcommands]),
        table("__otter_descs", [(s.path, "\n".join(described(n, h) for n, h in s.subcommands))
                                for s in specs if s.subcommands]),
        table("__otter_flags", [(s.path, "\n".join(described(n, f.help) for f in s.flags for n in f.names))
                                for s in specs]),
        table("__otter_values", [(s.path, _names(s.flags, values_only=True)) for s in specs]),
        table("__otter_kind", [(s.path, s.kind) for s in specs if s.kind]),
        table("__otter_many", [(s.path, "1") for s in specs if s.many]),
        table("__otter_args", [(s.path, " ".join(s.choices)) for s in specs if s.choices]),
        table("__otter_choices", _choices(specs)),
    ]
    return ZSH.replace("@SPECS@", "".join(data)).replace("@NAMES@", _NAMES_COMMANDS)


def fish_script(specs: list[CommandSpec], descriptions: bool = True) -> str:
    def case(s: CommandSpec, words: list[str]) -> str:
        return f"        case {_fish(s.path)}\n            printf '%s\\n' {' '.join(map(_fish, words))}\n"

    def desc(text: str) -> str:
        return f" -d {_fish(text)}" if descriptions and text else ""

    lines = []
    for s in specs:
        at = f"complete -c otter -n {_fish(f'__otter_at {_fish(s.path)}')}"
        lines += [f"{at} -f -a {_fish(name)}{desc(h)}" for name, h in s.subcommands]
        for f in s.flags:
            names = " ".join(f"-s {n[1:]}" if len(n) == 2 else f"-l {n[2:]}" for n in f.names)
            value = f" -x -a {_fish(' '.join(f.choices))}" if f.choices else " -r" if f.takes_value else ""
            lines.append(f"{at} {names}{value}{desc(f.help)}")
        if s.kind or s.choices:
            wants = f"complete -c otter -n {_fish(f'__otter_wants {_fish(s.path)} {int(s.many)}')} -f"
            lines.append(f"{wants} -a {_fish(' '.join(s.choices))}" if s.choices else
                         f"{wants} -a {_fish(f'(__otter_names {s.kind})')}")
    return (FISH.replace("@SUBS@", "".join(case(s, [n for n, _ in s.subcommands]) for s in specs if s.subcommands))
            .replace("@VALUES@", "".join(case(s, _names(s.flags, values_only=True).split())
                                         for s in specs if any(f.takes_value for f in s.flags)))
            .replace("@COMPLETIONS@", "\n".join(lines) + "\n"))


def cmd_completion(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Generate shell autocompletions")
    p.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to generate completions for")
    p.add_argument("-f", "--file", help="Output the completion to file rather than stdout.")
    p.add_bool("--no-desc", help="Don't include descriptions in the completion output.")
    args = parse(p, argv)
    specs = command_specs()
    script = {"bash": lambda: bash_script(specs), "zsh": lambda: zsh_script(specs, not args.no_desc),
              "fish": lambda: fish_script(specs, not args.no_desc)}[args.shell]()
    if args.file:
        with open(args.file, "w") as f:
            f.write(script)
    else:
        write(script)
    return 0
