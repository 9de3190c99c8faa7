"""Help, usage errors and shell completion of every command, walked from the command table.

`otter.cli.completion.command_specs` probes every command in `COMMANDS` (and every verb of the
command groups) for the parser it builds; these tests hold each of them to Podman's contract:
every flag has a one-line help, `--help` lists them all, an unknown flag or command is one
`Error:` line, the usage pointer and exit 125. The completion scripts are run for real: bash
(and zsh and fish where installed) complete commands, subcommands, flags and flag values.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from otter.cli.completion import bash_script, command_specs, fish_script, probe, zsh_script
from otter.cli.main import COMMANDS, main, resolve

SPECS = command_specs()
COMMAND_SPECS = [s for s in SPECS if not s.subcommands]
GROUP_SPECS = [s for s in SPECS if s.subcommands and s.path != "otter"]
BY_PATH = {s.path: s for s in SPECS}

# Commands that check their argument count before parsing flags, so `--help` alone meets
# "requires at least 1 arg(s)" (otter/cli/container.py `_parse_create`, `cmd_exec`).


def words(path: str) -> list[str]:
    return path.split()[1:]


def parser_of(path: str):
    command, *verbs = words(path)
    return probe(resolve(command), path, tuple(verbs))


def run_main(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:     # --help ends the process
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def required_arguments(path: str) -> list[str]:
    """Stand-ins for the arguments a command cannot do without, so that a bad flag is the only
    error: a missing argument would be reported first, where Podman reports the flag."""
    return [(a.choices or ["x"])[0] for a in parser_of(path).actions
            if not a.option_strings and a.nargs in (None, "+")]


# -- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--help"], ["help"], ["-h"]])
def test_help_lists_every_command_with_its_help(capsys, argv):
    code, out, _ = run_main(capsys, argv)
    assert code == 0
    listed = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in
              out.partition("Available Commands:\n")[2].partition("\n\n")[0].splitlines()}
    assert listed == {name: help_text for name, (_, help_text) in COMMANDS.items()}


def test_every_command_is_walked():
    assert {s.path for s in SPECS if s.path.count(" ") == 1} == {f"otter {name}" for name in COMMANDS}
    assert len(COMMAND_SPECS) > len(COMMANDS)       # the group verbs too


@pytest.mark.parametrize("path", [s.path for s in COMMAND_SPECS])
def test_every_flag_has_one_line_help(path):
    parser = parser_of(path)
    text = parser.format_help()
    for action in parser.actions:
        if action.option_strings:
            assert action.help and action.help.strip() and "\n" not in action.help, (path, action.option_strings)
            assert all(flag in text for flag in action.option_strings), (path, action.option_strings)


@pytest.mark.parametrize("path", [s.path for s in COMMAND_SPECS])
def test_help_flag_prints_usage_and_exits_0(capsys, path):
    code, out, _ = run_main(capsys, [*words(path), "--help"])
    assert code == 0
    # Podman's layout: the description, then "Usage:" and the command line, then the flags.
    description, _, usage = out.partition("\n\nUsage:\n  ")
    assert description.strip() and usage.startswith(path + " ")
    assert "\nOptions:\n" in out


@pytest.mark.parametrize("path", [s.path for s in GROUP_SPECS])
def test_group_help_lists_its_verbs(capsys, path):
    code, out, _ = run_main(capsys, [*words(path), "--help"])
    assert code == 0
    assert out.partition("Available Commands:\n")[2].split() == sorted(n for n, _ in BY_PATH[path].subcommands)


# -- usage errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [s.path for s in COMMAND_SPECS])
def test_unknown_flag_is_a_usage_error(capsys, path):
    code, out, err = run_main(capsys, [*words(path), "--bogus-flag", *required_arguments(path)])
    assert code == 125 and out == ""
    assert err.startswith("Error: unknown flag: --bogus-flag")
    assert err.endswith(f"See '{path} --help'\n")


@pytest.mark.parametrize("path", ["otter"] + [s.path for s in GROUP_SPECS])
def test_unknown_command_is_a_usage_error(capsys, path):
    code, out, err = run_main(capsys, [*words(path), "frobnicate"])
    assert code == 125 and out == ""
    assert err == f"Error: unrecognized command `{path} frobnicate`\nTry '{path} --help' for more information\n"


def test_unknown_global_flag_and_no_command(capsys):
    code, _, err = run_main(capsys, ["--bogus-flag", "ps"])
    assert code == 125 and err == "Error: unknown flag: --bogus-flag\n"
    code, out, _ = run_main(capsys, [])
    assert code == 125 and out.startswith("Manage pods, containers and images\n")


# -- completion ---------------------------------------------------------------------------------

def test_specs_describe_arguments():
    assert BY_PATH["otter rm"].kind == "container" and BY_PATH["otter rm"].many
    assert BY_PATH["otter run"].kind == "image" and not BY_PATH["otter run"].many
    assert BY_PATH["otter volume rm"].kind == "volume"
    assert BY_PATH["otter volume create"].kind == ""          # a new name: nothing to complete
    assert BY_PATH["otter inspect"].kind == "any"
    assert BY_PATH["otter image inspect"].kind == "image"
    assert BY_PATH["otter completion"].choices == ("bash", "zsh", "fish")
    root = BY_PATH["otter"]
    assert {n for f in root.flags for n in f.names} >= {"--root", "--runroot", "--storage-driver", "--log-level",
                                                        "--runtime", "-v", "--version", "-h", "--help"}
    assert all(f.help for f in root.flags)


def test_completion_command_writes_each_shell(capsys, tmp_path):
    for shell in ("bash", "zsh", "fish"):
        code, out, _ = run_main(capsys, ["completion", shell])
        assert code == 0 and "otter" in out
    code, out, _ = run_main(capsys, ["completion", "bash", "-f", str(tmp_path / "otter.bash")])
    assert code == 0 and out == "" and (tmp_path / "otter.bash").read_text() == bash_script(SPECS)
    code, _, err = run_main(capsys, ["completion", "tcsh"])
    assert code == 125 and "invalid choice" in err


# (words typed, the completions expected): the last word is the one being completed.
COMPLETIONS = [
    (["otter", "vo"], ["volume"]),
    (["otter", "sys"], ["system"]),
    (["otter", "volume", ""], sorted(n for n, _ in BY_PATH["otter volume"].subcommands)),
    (["otter", "system", ""], ["df", "events", "info", "prune"]),
    (["otter", "ps", "--no"], ["--no-trunc", "--noheading"]),
    (["otter", "volume", "rm", "--a"], ["--all"]),
    (["otter", "--root", "/x", "ima"], ["image", "images"]),            # after global flags and a value
    (["otter", "run", "--pull", ""], ["always", "missing", "never", "newer"]),
    (["otter", "run", "--pull", "n"], ["never", "newer"]),
    (["otter", "inspect", "--type", "v"], ["volume"]),
    (["otter", "completion", ""], ["bash", "zsh", "fish"]),
    (["otter", "--storage-driver", ""], []),                             # a value: files, not commands
]


BASH_HARNESS = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _otter; printf "%s\\n" "${COMPREPLY[@]}"'


def bash_complete(script: str, typed: list[str], env: dict[str, str] | None = None) -> list[str]:
    """What the bash script offers for the words `typed`, the last being completed."""
    proc = subprocess.run(["bash", "-c", BASH_HARNESS, "bash", script, *typed], capture_output=True, text=True,
                          check=True, env=env)
    return proc.stdout.split()


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    base = tmp_path_factory.mktemp("completion")
    paths = {}
    for shell, render in (("bash", bash_script), ("zsh", zsh_script), ("fish", fish_script)):
        paths[shell] = str(base / f"otter.{shell}")
        with open(paths[shell], "w") as f:
            f.write(render(SPECS))
    return paths


@pytest.mark.parametrize("typed, expected", COMPLETIONS)
def test_bash_completion(scripts, typed, expected):
    assert bash_complete(scripts["bash"], typed) == expected


# zsh's completion system only runs inside the line editor: these tests source the script with
# stand-ins for the compsys functions it calls (compadd, _describe, _files), which print what
# they are offered. zsh filters by the typed prefix itself, as these stand-ins do with a glob.
ZSH_HARNESS = r'''
compdef() { : }
source "$1"; shift
__offer() { local w; for w in "$@"; do [[ $w == ${PREFIX}* ]] && print -r -- "$w"; done }
_describe() { local -a items; items=("${(@P)${@[-1]}}"); __offer "${items[@]%%:*}" }
compadd() { [[ $1 == -a ]] && __offer "${(@P)2}" }
_files() { : }
words=("$@"); CURRENT=$#; PREFIX=${words[-1]}
_otter || true
'''


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
@pytest.mark.parametrize("typed, expected", COMPLETIONS)
def test_zsh_completion(scripts, typed, expected):
    proc = subprocess.run(["zsh", "-c", ZSH_HARNESS, "zsh", scripts["zsh"], *typed], capture_output=True, text=True,
                          check=True)
    assert proc.stderr == "" and proc.stdout.split() == expected


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.parametrize("typed, expected", COMPLETIONS)
def test_fish_completion(scripts, typed, expected, tmp_path):
    # fish completes a value without choices with file names: run where there are none.
    proc = subprocess.run(["fish", "-c", 'source $argv[1]; complete -C $argv[2]', scripts["fish"], " ".join(typed)],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    offered = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert sorted(offered) == sorted(expected)


def test_no_desc_drops_descriptions():
    assert "Manage volumes" in zsh_script(SPECS) and "Manage volumes" not in zsh_script(SPECS, descriptions=False)
    assert "Manage volumes" in fish_script(SPECS) and "Manage volumes" not in fish_script(SPECS, descriptions=False)
