"""Tests for otter.cli.gotemplate, the Go text/template subset behind --format.

Expected strings are what Go's text/template and Podman's report package produce for the
same format and data (checked against Podman 4.3), except where a test names a deliberate
departure.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from otter.cli.gotemplate import Format, TemplateError, compile_format, render_table

REPO = Path(__file__).resolve().parents[2]

CONTAINER = {
    "ID": "3f2a9c1b7d4e",
    "Names": ["web", "frontend"],
    "Image": "docker.io/library/nginx:latest",
    "State": {"Status": "running", "ExitCode": 0, "Pid": 4242, "Running": True},
    "Config": {"Labels": {"app": "web", "tier": "front"}, "Env": ["A=1", "B=2"]},
    "Ports": [],
    "Size": 1.5,
}


def render(fmt: str, obj: object = CONTAINER) -> str:
    return compile_format(fmt).render(obj)


def error_of(fmt: str, obj: object = CONTAINER) -> str:
    with pytest.raises(TemplateError) as caught:
        render(fmt, obj)
    return str(caught.value)


@dataclass
class Mount:
    Destination: str
    RW: bool


@dataclass
class Report:
    """A record in the shape engine reports have: snake_case attributes, Go names via the hook."""

    id: str
    names: list[str]
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    exit_code: int = 0

    __template_fields__: ClassVar[dict[str, str]] = {
        "ID": "id", "Names": "names", "Mounts": "mounts", "Labels": "labels", "ExitCode": "exit_code",
    }

    def Label(self, name: str) -> str:
        return self.labels.get(name, "")

    def Fails(self) -> str:
        raise ValueError("no such thing")

    @property
    def Short(self) -> str:
        return self.id[:3]


class Plain:
    def __init__(self) -> None:
        self.Name = "plain"
        self.Count = 3


class Stringer:
    def __str__(self) -> str:
        return "I am a stringer"


# -- compile_format: normalisation, table and JSON detection --------------------------------


class TestCompile:
    def test_render_appends_the_newline_podman_appends(self) -> None:
        assert render("{{.ID}}") == "3f2a9c1b7d4e\n"

    def test_a_format_ending_in_a_newline_gets_no_second_one(self) -> None:
        assert render("{{.ID}}\n") == "3f2a9c1b7d4e\n"
        assert render("{{.ID}}\\n") == "3f2a9c1b7d4e\n"

    def test_escaped_tab_and_newline_become_real_ones(self) -> None:
        assert render("{{.ID}}\\t{{.Image}}\\nend") == "3f2a9c1b7d4e\tdocker.io/library/nginx:latest\nend\n"

    def test_other_backslashes_stay(self) -> None:
        assert render("a\\b") == "a\\b\n"

    def test_plain_format_is_neither_table_nor_json(self) -> None:
        compiled = compile_format("{{.ID}} {{.Names}}")
        assert isinstance(compiled, Format)
        assert not compiled.is_table and not compiled.is_json
        assert compiled.render(CONTAINER) == "3f2a9c1b7d4e [web frontend]\n"

    def test_table_prefix_is_stripped_and_spaces_become_column_breaks(self) -> None:
        compiled = compile_format("table {{.ID}} {{.Image}}")
        assert compiled.is_table
        assert compiled.render(CONTAINER) == "3f2a9c1b7d4e\tdocker.io/library/nginx:latest\n"

    def test_table_needs_the_space(self) -> None:
        assert not compile_format("table").is_table
        assert not compile_format("tablet {{.ID}}").is_table

    def test_table_spaces_inside_actions_are_harmless(self) -> None:
        assert compile_format("table {{ .ID }}").render(CONTAINER) == "3f2a9c1b7d4e\n"

    def test_table_spaces_inside_strings_become_tabs_as_in_podman(self) -> None:
        assert compile_format('table {{printf "%s %s" .ID .ID}}').render(CONTAINER) == "3f2a9c1b7d4e\t3f2a9c1b7d4e\n"

    def test_table_loses_every_table_word_followed_by_space_as_in_podman(self) -> None:
        assert compile_format("table {{.ID}} portable x").render(CONTAINER) == "3f2a9c1b7d4e\tporx\n"

    @pytest.mark.parametrize(
        "fmt",
        ["json", " json ", "{{json .}}", "{{ json . }}", "{{json}}", "\t{{json .}}\n", "{{json.}}"],
    )
    def test_json_formats(self, fmt: str) -> None:
        compiled = compile_format(fmt)
        assert compiled.is_json
        assert not compiled.is_table
        assert compiled.render({"a": 1}) == '{"a":1}\n'

    @pytest.mark.parametrize(
        "fmt", ["{{json .ID}}", "JSON", "{{json .}} x", "jsonx", "{{json . .}}", "{{ json .Names }}"]
    )
    def test_not_json_formats(self, fmt: str) -> None:
        assert not compile_format(fmt).is_json

    def test_normalised_format_that_does_not_parse_is_parsed_as_typed(self) -> None:
        # \n inside a string would become a raw newline, which Go rejects in a quoted string;
        # Podman then parses the text as typed, without appending a newline.
        assert render('{{printf "%s\\n" .ID}}') == "3f2a9c1b7d4e\n"
        assert render('{{printf "\\n"}}') == "\n"

    def test_escape_sequences_in_literals_meet_podmans_replacement_first(self) -> None:
        # Podman turns \t and \n into real characters before Go sees the template: a tab is
        # fine inside a string, a newline is not (so the format is parsed as typed), and a raw
        # string simply keeps the newline.
        assert render('{{"a\\tb"}}') == "a\tb\n"
        assert render("{{'\\n'}}") == "10"
        assert render("{{`raw\\n`}}") == "raw\n\n"

    def test_parse_error_is_raised_by_compile(self) -> None:
        with pytest.raises(TemplateError):
            compile_format("{{.ID")


# -- fields -----------------------------------------------------------------------------------


class TestFields:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("{{.ID}}", "3f2a9c1b7d4e"),
            ("{{.State.ExitCode}}", "0"),
            ("{{.State.Running}}", "true"),
            ("{{.Config.Labels}}", "map[app:web tier:front]"),
            ("{{.Config.Labels.app}}", "web"),
            ("{{.Config.Env}}", "[A=1 B=2]"),
            ("{{.Ports}}", "[]"),
            ("{{.Size}}", "1.5"),
            ("{{.}}", "map[Config:map[Env:[A=1 B=2] Labels:map[app:web tier:front]] ID:3f2a9c1b7d4e "
             "Image:docker.io/library/nginx:latest Names:[web frontend] Ports:[] Size:1.5 "
             "State:map[ExitCode:0 Pid:4242 Running:true Status:running]]"),
        ],
    )
    def test_dict_fields(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"

    def test_dict_keys_match_case_insensitively_after_exact(self) -> None:
        assert render("{{.id}} {{.state.status}}") == "3f2a9c1b7d4e running\n"
        assert render("{{.a}}", {"A": "upper", "a": "lower"}) == "lower\n"
        assert render("{{.a}}", {"A": "upper"}) == "upper\n"

    def test_missing_map_key_is_no_value_like_go(self) -> None:
        assert render("{{.Nope}}") == "<no value>\n"
        assert render("{{.Config.Labels.missing}}") == "<no value>\n"

    def test_fields_of_a_missing_value_are_missing_too(self) -> None:
        assert render("{{.Nope.Deeper.Still}}") == "<no value>\n"
        assert render("{{.A.B}}", {"A": None}) == "<no value>\n"

    def test_dict_field_with_arguments_is_an_error(self) -> None:
        assert error_of('{{.ID "x"}}') == 'template: :1:2: executing "" at <.ID>: ID is not a method but has arguments'

    def test_object_attributes(self) -> None:
        assert render("{{.Name}}/{{.Count}}", Plain()) == "plain/3\n"

    def test_object_unknown_field_names_position_and_field(self) -> None:
        assert error_of("{{.Name}}{{.Nope}}", Plain()) == (
            'template: :1:11: executing "" at <.Nope>: can\'t evaluate field Nope in type Plain'
        )

    def test_object_private_attribute_is_not_a_field(self) -> None:
        assert "can't evaluate field _hidden" in error_of("{{._hidden}}", Plain())

    def test_field_of_a_scalar_is_an_error(self) -> None:
        assert error_of("{{.ID.Foo}}") == (
            'template: :1:2: executing "" at <.ID.Foo>: can\'t evaluate field Foo in type string'
        )
        assert "in type []interface {}" in error_of("{{.Names.First}}")
        assert "in type int" in error_of("{{.State.Pid.X}}")

    def test_template_fields_hook_renames_attributes(self) -> None:
        report = Report("abc123", ["one"], exit_code=2)
        assert render("{{.ID}} {{.Names}} {{.ExitCode}}", report) == "abc123 [one] 2\n"

    def test_attributes_remain_reachable_by_their_own_name(self) -> None:
        assert render("{{.id}} {{.Short}}", Report("abc123", [])) == "abc123 abc\n"

    def test_methods_are_called_with_arguments_and_piped_value(self) -> None:
        report = Report("abc", [], labels={"app": "web"})
        assert render('{{.Label "app"}}|{{"app" | .Label}}|{{.Label "none"}}', report) == "web|web|\n"

    def test_method_failure_is_reported_with_the_field(self) -> None:
        assert error_of("{{.Fails}}", Report("a", [])) == (
            'template: :1:2: executing "" at <.Fails>: error calling Fails: no such thing'
        )

    def test_attribute_with_arguments_is_an_error(self) -> None:
        assert error_of("{{.ID 1}}", Report("a", [])) == (
            'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function'
        )

    def test_nested_objects_in_lists(self) -> None:
        report = Report("a", [], mounts=[Mount("/data", True), Mount("/cfg", False)])
        assert render("{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}", report) == "/data:true /cfg:false \n"
        assert render("{{(index .Mounts 1).Destination}}", report) == "/cfg\n"

    def test_variable_fields(self) -> None:
        assert render("{{$s := .State}}{{$s.Status}}/{{$.ID}}") == "running/3f2a9c1b7d4e\n"


# -- printing values --------------------------------------------------------------------------


class TestPrinting:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, "<no value>"),
            (True, "true"),
            (False, "false"),
            (42, "42"),
            (-7, "-7"),
            (1.5, "1.5"),
            (2.0, "2"),
            (-0.25, "-0.25"),
            (0.1, "0.1"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (float("inf"), "+Inf"),
            (float("-inf"), "-Inf"),
            (float("nan"), "NaN"),
            ("text", "text"),
            ([], "[]"),
            (["a", "b"], "[a b]"),
            (("a", 1), "[a 1]"),
            ([None, True], "[<nil> true]"),
            ({}, "map[]"),
            ({"b": 2, "a": 1}, "map[a:1 b:2]"),
            ({2: "x", 1: "y"}, "map[1:y 2:x]"),
            ({"l": [1, 2], "m": {"z": None}}, "map[l:[1 2] m:map[z:<nil>]]"),
            (Mount("/d", True), "{/d true}"),
            (Report("i", ["n"]), "{i [n] [] map[] 0}"),
            (Stringer(), "I am a stringer"),
        ],
    )
    def test_values_print_as_go_prints_them(self, value: object, expected: str) -> None:
        assert render("{{.V}}", {"V": value}) == expected + "\n"


# -- text, trimming, comments ------------------------------------------------------------------


class TestText:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("plain text", "plain text\n"),
            ("", "\n"),
            ("a  {{- .ID}}", "a3f2a9c1b7d4e\n"),
            ("{{.ID -}}  \n\t b", "3f2a9c1b7d4eb\n"),
            ("x  {{- 3 -}}  y", "x3y\n"),
            ("{{- 3}}|{{3 -}}  |{{-3}}|{{ -3 }}", "3|3|-3|-3\n"),
            ("a {{/* a comment */}} b", "a  b\n"),
            ("a  {{- /* trimmed comment */ -}}  b", "ab\n"),
            ("{{/* multi\nline */}}x", "x\n"),
            ("one\ntwo {{.ID}}", "one\ntwo 3f2a9c1b7d4e\n"),
            ("{{ .ID\n}}", "3f2a9c1b7d4e\n"),
            ("{{\"}}\"}}", "}}\n"),
        ],
    )
    def test_text_and_trimming(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected


# -- literals ---------------------------------------------------------------------------------


class TestLiterals:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ('{{"q\\"uote\\\\ \\a\\v\\r"}}', 'q"uote\\ \a\v\r'),
            ('{{"\\x41\\u00e9\\U0001F600\\101"}}', "Aé😀A"),
            ("{{`raw \\x41`}}", "raw \\x41"),
            ("{{`two\nlines`}}", "two\nlines"),
            ("{{'a'}} {{'\\x41'}} {{'\\''}} {{'\"'}}", "97 65 39 34"),
            ("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}", "31 15 15 5 1000"),
            ("{{-5}} {{+3}} {{.5}} {{1.0}} {{1e3}} {{2.5e-3}}", "-5 3 0.5 1 1000 0.0025"),
            ("{{true}} {{false}}", "true false"),
            ('{{printf "%v" nil}}', "<nil>"),
            ("{{(1)}}", "1"),
        ],
    )
    def test_literals(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"


# -- control structures and variables -----------------------------------------------------------


class TestControl:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("{{if .State.Running}}up{{end}}", "up"),
            ("{{if .Ports}}ports{{else}}none{{end}}", "none"),
            ("{{if .Nope}}x{{else}}missing{{end}}", "missing"),
            ("{{if 0}}a{{else if 0}}b{{else if 1}}c{{else}}d{{end}}", "c"),
            ("{{if 0}}a{{else if 0}}b{{else}}d{{end}}", "d"),
            ('{{if eq .State.Status "running"}}R{{else if eq .State.Status "exited"}}E{{end}}', "R"),
            ("{{if and .ID (not .Ports)}}yes{{end}}", "yes"),
            ("{{with .State}}{{.Status}} as {{$.ID}}{{end}}", "running as 3f2a9c1b7d4e"),
            ("{{with .Ports}}ports{{else}}no ports: {{.ID}}{{end}}", "no ports: 3f2a9c1b7d4e"),
            ("{{with $x := .State.Pid}}{{$x}}={{.}}{{end}}", "4242=4242"),
            ("{{range .Names}}[{{.}}]{{end}}", "[web][frontend]"),
            ("{{range $i, $n := .Names}}{{$i}}:{{$n}} {{end}}", "0:web 1:frontend "),
            ("{{range $n := .Names}}{{$n}};{{end}}", "web;frontend;"),
            ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "app=web,tier=front,"),
            ("{{range .Config.Labels}}{{.}} {{end}}", "web front "),
            ("{{range .Ports}}p{{else}}no ports{{end}}", "no ports"),
            ("{{range .Nope}}p{{else}}nothing{{end}}", "nothing"),
            ("{{range $i, $e := .Names}}{{if eq $i 1}}{{break}}{{end}}{{$e}}{{end}}", "web"),
            ("{{range $i, $e := .Names}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}", "frontend"),
            ("{{range .Names}}{{range $.Names}}{{.}}{{end}};{{end}}", "webfrontend;webfrontend;"),
            ("{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}", "12"),
            ("{{$x := 1}}{{if 1}}{{$x = 2}}{{$y := 3}}{{$y}}{{end}}{{$x}}", "32"),
            ("{{$i := 9}}{{range $i, $e := .Names}}{{$i}}{{end}}{{$i}}", "019"),
            ("{{$first := index .Names 0}}{{$first | upper}}", "WEB"),
        ],
    )
    def test_control_structures(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"

    def test_dollar_is_the_record_everywhere(self) -> None:
        assert render("{{$}}") == render("{{.}}")
        assert render("{{with .State}}{{range $.Names}}{{.}}{{end}}{{end}}") == "webfrontend\n"

    def test_range_over_a_map_is_in_key_order(self) -> None:
        assert render("{{range $k, $v := .}}{{$k}}{{$v}}{{end}}", {"b": 2, "a": 1, "c": 3}) == "a1b2c3\n"

    def test_range_over_a_scalar_is_an_error(self) -> None:
        assert error_of("{{range .ID}}x{{end}}") == (
            'template: :1:8: executing "" at <.ID>: range can\'t iterate over 3f2a9c1b7d4e'
        )

    def test_variables_end_with_their_block(self) -> None:
        assert error_of("{{if 1}}{{$x := 1}}{{end}}{{$x}}") == 'template: :1:28: undefined variable "$x"'
        assert "undefined variable \"$e\"" in error_of("{{range $e := .Names}}{{end}}{{$e}}")

    def test_assignment_needs_a_declared_variable(self) -> None:
        assert error_of("{{$x = 1}}") == 'template: :1:2: undefined variable "$x"'


# -- pipelines --------------------------------------------------------------------------------


class TestPipelines:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("{{.Image | upper}}", "DOCKER.IO/LIBRARY/NGINX:LATEST"),
            ('{{.ID | printf "%s-%s" "id"}}', "id-3f2a9c1b7d4e"),
            ("{{.State.Status | upper | lower | printf \"%q\"}}", '"running"'),
            ('{{(printf "%s" "x") | printf "%s-%s" "y"}}', "y-x"),
            ("{{(index .Names 1) | len}}", "8"),
            ("{{len (index .Config.Env 0)}}", "3"),
            ("{{(.State).Status}}", "running"),
            ("{{.State.Status |}}", "running"),
        ],
    )
    def test_pipelines(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"

    def test_piped_value_is_the_last_argument(self) -> None:
        # join takes the list first, so a piped list lands where the separator goes
        assert error_of('{{.Names | join ","}}').endswith("expected []string; got string")

    def test_literal_command_takes_no_arguments(self) -> None:
        assert error_of('{{"x" 1}}') == (
            'template: :1:2: executing "" at <"x">: can\'t give argument to non-function "x"'
        )
        assert error_of("{{.ID | (1)}}") == (
            'template: :1:8: executing "" at <(1)>: can\'t give argument to non-function (1)'
        )

    def test_nil_is_not_a_command(self) -> None:
        assert error_of("{{nil}}") == 'template: :1:2: executing "" at <nil>: nil is not a command'


# -- functions --------------------------------------------------------------------------------


class TestBuiltins:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ('{{and 1 0 "x"}}|{{and 1 2}}|{{or 0 "" "x"}}|{{or 0 ""}}', "0|2|x|"),
            ("{{not 0}} {{not .ID}} {{not .Nope}}", "true false true"),
            ("{{and 0 (index nil 1)}}|{{or 1 (index nil 1)}}", "0|1"),
            ("{{.ID | and 1}}", "3f2a9c1b7d4e"),
            ('{{len .Names}} {{len .Config.Labels}} {{len ""}} {{len "héllo"}}', "2 2 0 6"),
            ("{{index .Names 1}} {{index .Config.Labels \"tier\"}} {{index . \"ID\"}}", "frontend front 3f2a9c1b7d4e"),
            ('{{index .Config.Labels "missing"}}', "<no value>"),
            ("{{index .Names}}", "[web frontend]"),
            ('{{index "abc" 1}}', "98"),
            ('{{index . "Config" "Labels" "app"}}', "web"),
            ('{{slice "hello" 1 3}}|{{slice "hello" 2}}|{{slice "hello"}}', "el|llo|hello"),
            ("{{slice .Names 1}}|{{slice .Config.Env 0 1 2}}", "[frontend]|[A=1]"),
            ("{{eq 1 1}} {{eq 1 2}} {{eq 1 2 3 1}} {{eq .State.Status \"running\"}}", "true false true true"),
            ('{{ne "a" "b"}} {{ne 1 1}}', "true false"),
            ('{{lt 1 2}} {{lt 2 1}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{ge 2.5 2.5}}',
             "true false true true false true"),
            ("{{eq .Nope nil}} {{eq .ID nil}} {{eq nil nil}}", "true false true"),
            ('{{print 1 2 "a" "b" 3 true nil}}', "1 2ab3 true <nil>"),
            ("{{print}}|{{println}}|{{println 1 \"a\" 2}}", "|\n|1 a 2\n"),
            ('{{print .Names .Ports}}', "[web frontend] []"),
        ],
    )
    def test_go_builtins(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"

    def test_ints_and_floats_compare_unlike_go(self) -> None:
        assert render("{{eq .V 1}} {{lt .V 2}} {{ge 2 .V}}", {"V": 1.0}) == "true true true\n"

    @pytest.mark.parametrize(
        ("fmt", "message"),
        [
            ("{{and}}", 'at <and>: wrong number of args for and: want at least 1 got 0'),
            ("{{not 1 2}}", "at <not>: wrong number of args for not: want 1 got 2"),
            ("{{printf}}", "at <printf>: wrong number of args for printf: want at least 1 got 0"),
            ("{{eq 1}}", "at <eq 1>: error calling eq: missing argument for comparison"),
            ('{{eq "a" 1}}', 'at <eq "a" 1>: error calling eq: incompatible types for comparison'),
            ("{{lt true false}}", "at <lt true false>: error calling lt: invalid type for comparison"),
            ("{{lt .Names .Names}}", "error calling lt: invalid type for comparison"),
            ("{{eq .Names .Names}}", "error calling eq: non-comparable type [web frontend]: []interface {}"),
            ("{{len 3}}", "at <len 3>: error calling len: len of type int"),
            ("{{len .Nope}}", "error calling len: len of nil pointer"),
            ("{{index .Names 5}}", "at <index .Names 5>: error calling index: index out of range: 5"),
            ("{{index .Names 2}}", "error calling index: index out of range: 2"),
            ("{{index .Names -1}}", "error calling index: index out of range: -1"),
            ('{{index .Names "x"}}', "error calling index: cannot index slice/array with type string"),
            ("{{index .Names nil}}", "error calling index: cannot index slice/array with nil"),
            ("{{index nil 1}}", "error calling index: index of untyped nil"),
            ("{{index 5 1}}", "error calling index: can't index item of type int"),
            ('{{slice "hello" 3 1}}', "error calling slice: invalid slice index: 3 > 1"),
            ('{{slice "hello" 1 2 3}}', "error calling slice: cannot 3-index slice a string"),
            ("{{slice .Names 0 1 2 3}}", "error calling slice: too many slice indexes: 4"),
            ("{{slice .Names 0 3}}", "error calling slice: index out of range: 3"),
            ("{{slice 5 1}}", "error calling slice: can't slice item of type int"),
            ("{{slice nil}}", "error calling slice: slice of untyped nil"),
            ("{{printf 5}}", "error calling printf: wrong type for value; expected string; got int"),
        ],
    )
    def test_builtin_errors(self, fmt: str, message: str) -> None:
        error = error_of(fmt)
        assert error.startswith("template: :1:2: executing")
        assert error.endswith(message)


class TestPrintf:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ('{{printf "%s|%10s|%-10s|%.2s" "hi" "hi" "hi" "hello"}}', "hi|        hi|hi        |he"),
            ('{{printf "%q|%+q|%#q|%#q" "a\\"b\\x01" "héllo" "x`y" "plain"}}',
             '"a\\"b\\x01"|"h\\u00e9llo"|"x`y"|`plain`'),
            ('{{printf "%x|% x|%#x|%X" "hi" "hi" "hi" "hi"}}', "6869|68 69|0x6869|6869"),
            ('{{printf "%d|%5d|%-5d|%05d|%+d|% d" 42 42 42 -42 42 5}}', "42|   42|42   |-0042|+42| 5"),
            ('{{printf "%x %X %o %O %b %#x %#o %#b" 255 255 8 8 5 255 8 5}}', "ff FF 10 0o10 101 0xff 010 0b101"),
            ('{{printf "%.3d|%.0d|%5.3d" 7 0 7}}', "007||  007"),
            ('{{printf "%c%c %q %U" 0x4e16 0x754c 65 65}}', "世界 'A' U+0041"),
            ('{{printf "%v|%v|%v|%v" 1.0 1e6 0.0001 123456.0}}', "1|1e+06|0.0001|123456"),
            ('{{printf "%g %e %f %.2f %8.3f|%-8.2f|%08.3f" 1.5 1.5 1.5 3.14159 2.5 2.5 -2.5}}',
             "1.5 1.500000e+00 1.500000 3.14    2.500|2.50    |-002.500"),
            ('{{printf "%6.2f|%-8.3g|%G|%E" 3.14159 1234.5678 1e-7 1e10}}', "  3.14|1.23e+03|1E-07|1.000000E+10"),
            ('{{printf "%+.2e|%.0f %.0f %.0f" 12345.678 0.5 1.5 2.5}}', "+1.23e+04|0 2 2"),
            ('{{printf "%10.4v|%-10v|" 3.14159265 "x"}}', "     3.142|x         |"),
            ('{{printf "%v %t %v %5t|" true false nil true}}', "true false <nil>  true|"),
            ('{{printf "%T %T %T %T %T %T" 1 1.5 "s" true .Names .State}}',
             "int float64 string bool []interface {} map[string]interface {}"),
            ('{{printf "%v|%s|%q|%5s|%d" .Names .Names .Names .Names .Names}}',
             '[web frontend]|[web frontend]|["web" "frontend"]|[  web frontend]|'
             "[%!d(string=web) %!d(string=frontend)]"),
            ('{{printf "%v" .Config.Labels}}', "map[app:web tier:front]"),
            ('{{printf "%*d|%-*d|%.*f" 5 1 5 2 2 3.14159}}', "    1|2    |3.14"),
            ('{{printf "100%%"}}', "100%"),
            ('{{printf "%d" "x"}}', "%!d(string=x)"),
            ('{{printf "%s" 5}}', "%!s(int=5)"),
            ('{{printf "%s" nil}}', "%!s(<nil>)"),
            ('{{printf "%z" 1.5}}', "%!z(float64=1.5)"),
            ('{{printf "%t" 1}}', "%!t(int=1)"),
            ('{{printf "%d %d" 1}}', "1 %!d(MISSING)"),
            ('{{printf "%d" 1 2 "x" nil}}', "1%!(EXTRA int=2, string=x, <nil>)"),
            ('{{printf "%!"}}', "%!!(MISSING)"),
            ('{{printf "%"}}', "%!(NOVERB)"),
            ('{{printf "%*d" "x" 1}}', "%!(BADWIDTH)1"),
        ],
    )
    def test_printf(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"


class TestPodmanHelpers:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("{{json .Names}}", '["web","frontend"]'),
            ("{{json .State}}", '{"Status":"running","ExitCode":0,"Pid":4242,"Running":true}'),
            ("{{json .Ports}} {{json .Nope}} {{json .Size}}", "[] null 1.5"),
            ('{{json "a<b>&\\"\\\\"}}', '"a<b>&\\"\\\\"'),
            ('{{json "\\x01\\b\\f\\r/\\u2028é"}}', '"\\u0001\\u0008\\u000c\\r/\\u2028é"'),
            ("{{json `tab\tnewline\n`}}", '"tab\\tnewline\\n"'),
            ("{{json 3.0}}|{{json -0.5}}|{{json 1e-7}}|{{json 1e21}}|{{json 100000000.0}}",
             "3|-0.5|1e-7|1e+21|100000000"),
            ('{{join .Names ","}}|{{join .Ports ","}}|{{join .Config.Env ""}}', "web,frontend||A=1B=2"),
            ('{{split "a,b,,c" ","}}|{{split "abc" ""}}|{{len (split "" ",")}}', "[a b  c]|[a b c]|1"),
            ('{{join (split "a:b:c" ":") "/"}}', "a/b/c"),
            ('{{lower "ABC Def"}}|{{upper "abc"}}|{{upper "straße"}}|{{lower "İSTANBUL"}}',
             "abc def|ABC|STRAßE|istanbul"),
            ('{{title "hello wORLD foo_bar x-y o\'neil élan"}}', "Hello WORLD Foo_bar X-Y O'Neil Élan"),
            ('{{pad "x" 2 3}}|{{pad "" 2 3}}|{{pad .ID 0 1}}|', "  x   ||3f2a9c1b7d4e |"),
            ('{{truncate "hello" 3}}|{{truncate "hi" 5}}|{{truncate .ID 0}}|{{truncate "héllo" 2}}', "hel|hi||hé"),
        ],
    )
    def test_helpers(self, fmt: str, expected: str) -> None:
        assert render(fmt) == expected + "\n"

    def test_json_of_objects_uses_their_go_fields_in_order(self) -> None:
        report = Report("abc", ["n"], mounts=[Mount("/d", False)], labels={"z": "1", "a": "2"})
        assert render("{{json .}}", report) == (
            '{"ID":"abc","Names":["n"],"Mounts":[{"Destination":"/d","RW":false}],'
            '"Labels":{"z":"1","a":"2"},"ExitCode":0}\n'
        )

    def test_json_of_other_objects_is_their_string(self) -> None:
        assert render("{{json .V}}", {"V": Stringer()}) == '"I am a stringer"\n'

    @pytest.mark.parametrize(
        ("fmt", "message"),
        [
            ("{{json .V}}", "error calling json: json: unsupported value: NaN"),
            ('{{join "a" ","}}', "error calling join: wrong type for value; expected []string; got string"),
            ("{{upper 1}}", "error calling upper: wrong type for value; expected string; got int"),
            ('{{truncate "abc" "x"}}', "error calling truncate: wrong type for value; expected int; got string"),
            ('{{truncate "abc" -1}}', "error calling truncate: slice bounds out of range [:-1]"),
            ('{{pad "x" -1 1}}', "error calling pad: strings: negative Repeat count"),
            ('{{pad "x" 1}}', "wrong number of args for pad: want 3 got 2"),
            ('{{split "x"}}', "wrong number of args for split: want 2 got 1"),
        ],
    )
    def test_helper_errors(self, fmt: str, message: str) -> None:
        assert error_of(fmt, {"V": float("nan")}).endswith(message)


# -- parse errors ---------------------------------------------------------------------------------


class TestParseErrors:
    @pytest.mark.parametrize(
        ("fmt", "message"),
        [
            ("{{.ID", "template: :1:0: unclosed action"),
            ("ab {{.ID}} {{.Names", "template: :1:11: unclosed action"),
            ("{{end}}", "template: :1:0: unexpected {{end}}"),
            ("{{.ID}}{{else}}", "template: :1:7: unexpected {{else}}"),
            ("{{if .ID}}x", "template: :1:0: unexpected EOF: {{if}} has no {{end}}"),
            ("{{range .Names}}", "template: :1:0: unexpected EOF: {{range}} has no {{end}}"),
            ("{{if 1}}a{{else}}b{{else}}c{{end}}", "template: :1:18: expected end; found {{else}}"),
            ("{{with 1}}a{{else if 1}}b{{end}}", "template: :1:18: unexpected <if> in input"),
            ("{{nope .ID}}", 'template: :1:2: function "nope" not defined'),
            ("{{$y}}", 'template: :1:2: undefined variable "$y"'),
            ("{{if}}{{end}}", "template: :1:4: missing value for if"),
            ("{{}}", "template: :1:2: missing value for command"),
            ("{{.ID}", "template: :1:5: bad character U+007D '}'"),
            ("{{.ID=1}}", "template: :1:5: bad character U+003D '='"),
            ("{{@}}", "template: :1:2: unrecognized character in action: U+0040 '@'"),
            ('{{"unterminated}}', "template: :1:2: unterminated quoted string"),
            ('{{"a\nb"}}', "template: :1:2: unterminated quoted string"),
            ("{{`raw}}", "template: :1:2: unterminated raw quoted string"),
            ("{{'ab'}}", "template: :1:2: malformed character constant: 'ab'"),
            ('{{"\\q"}}', 'template: :1:2: invalid syntax in "\\q"'),
            ("{{3x}}", 'template: :1:2: bad number syntax: "3x"'),
            ("{{0x}}", 'template: :1:2: illegal number syntax: "0x"'),
            ("{{1.2.3}}", 'template: :1:5: unexpected ".3" in operand'),
            ("{{.ID | \"x\"}}", "template: :1:8: non executable command in pipeline stage 2"),
            ("{{| .ID}}", 'template: :1:2: unexpected "|" in command'),
            ("{{.ID)}}", 'template: :1:5: unexpected ")" in command'),
            ("{{(.ID}}", "template: :1:6: unclosed left paren"),
            ("{{.ID.}}", 'template: :1:5: unexpected "." in operand'),
            ('{{"x".Foo}}', 'template: :1:2: unexpected . after term "\\"x\\""'),
            ("{{.ID\"x\"}}", "template: :1:5: bad character U+0022 '\"'"),
            ("{{(.ID)(.ID)}}", 'template: :1:7: unexpected "(" in operand'),
            ("{{if 1 := 2}}{{end}}", 'template: :1:7: unexpected ":=" in operand'),
            ("{{$x : 1}}", "template: :1:5: expected :="),
            ("{{$x, $y := 1}}", "template: :1:4: too many declarations in command"),
            ("{{range $a, 1}}{{end}}", "template: :1:12: range can only initialize variables"),
            ("{{range $a, $b, $c := .X}}{{end}}", "template: :1:14: too many declarations in range"),
            ("{{break}}", "template: :1:2: {{break}} outside {{range}}"),
            ("{{range .Names}}{{else}}{{continue}}{{end}}", "template: :1:26: {{continue}} outside {{range}}"),
            ("{{end 1}}", 'template: :1:6: unexpected "1" in end'),
            ("{{/* unclosed", "template: :1:0: unclosed comment"),
            ("{{/* c */ }}", "template: :1:9: comment ends before closing delimiter"),
            ('{{template "x"}}', "template: :1:2: {{template}} is not supported"),
            ('{{define "x"}}{{end}}', "template: :1:2: {{define}} is not supported"),
            ("{{if if}}{{end}}", "template: :1:5: unexpected <if> in if"),
        ],
    )
    def test_parse_errors(self, fmt: str, message: str) -> None:
        with pytest.raises(TemplateError) as caught:
            compile_format(fmt)
        assert str(caught.value) == message

    def test_position_counts_lines_and_columns_from_zero(self) -> None:
        with pytest.raises(TemplateError) as caught:
            compile_format("line one\nline two\nab {{bad}}")
        assert str(caught.value) == 'template: :3:5: function "bad" not defined'

    def test_execution_error_position_on_a_later_line(self) -> None:
        assert error_of("{{.Name}}\n  {{.Missing}}", Plain()).startswith('template: :2:4: executing "" at <.Missing>')

    def test_error_context_is_go_normalised(self) -> None:
        # table formats turn spaces into tabs; the message shows the command as Go writes it
        compiled = compile_format('table {{index  .Names   9}}')
        with pytest.raises(TemplateError, match=r"at <index \.Names 9>: error calling index"):
            compiled.render(CONTAINER)


# -- headers and tables ---------------------------------------------------------------------------


class TestHeaders:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("{{.ID}}", ["ID"]),
            ("table {{.ID}} {{.Names}} {{.CreatedAt}}", ["ID", "NAMES", "CREATED AT"]),
            ("{{.PDFLoader}}{{.GL11Version}}{{.SimpleXMLParser}}{{.PIDs}}{{.vimRPCPlugin}}",
             ["PDF LOADER", "GL 11 VERSION", "SIMPLE XML PARSER", "PI DS", "VIM RPC PLUGIN"]),
            ("{{.State.ExitCode}}", ["EXIT CODE"]),
            ("{{.Names | upper}} {{printf \"%s\" .ID}} {{join .Names \",\"}}", ["NAMES"]),
            ("{{if .ID}}{{.Image}}{{end}}{{range .Names}}{{.}}{{end}}{{$x := .ID}}", []),
            ("literal text", []),
        ],
    )
    def test_headers(self, fmt: str, expected: list[str]) -> None:
        assert compile_format(fmt).headers() == expected

    def test_overrides_are_upper_cased_and_keyed_by_field_path(self) -> None:
        compiled = compile_format("table {{.ID}} {{.Names}} {{.State.Status}}")
        overrides = {"ID": "container id", "State.Status": "status now"}
        assert compiled.headers(overrides) == ["CONTAINER ID", "NAMES", "STATUS NOW"]


ROWS = [
    {"ID": "c061a0839e", "Value": "one"},
    {"ID": "f10fc2e11057", "Value": "two"},
    {"ID": "1eb6fab5aa8f4b5cbfd3e66aa35e9b2a", "Value": "three"},
]


class TestRenderTable:
    def test_columns_as_podman_aligns_them(self) -> None:
        # containers/common report formatter_test: "table {{.ID}}\t{{.Value}}" with rows
        table = render_table(compile_format("table {{.ID}}\\t{{.Value}}"), ROWS, {"ID": "Identity"})
        assert table == (
            "IDENTITY                          VALUE\n"
            "c061a0839e                        one\n"
            "f10fc2e11057                      two\n"
            "1eb6fab5aa8f4b5cbfd3e66aa35e9b2a  three\n"
        )

    def test_columns_are_at_least_twelve_wide(self) -> None:
        table = render_table(compile_format("table {{.A}} {{.B}} {{.C}}"), [{"A": "1", "B": "2", "C": "3"}])
        assert table == "A           B           C\n1           2           3\n"

    def test_podman_ps_header_without_rows(self) -> None:
        compiled = compile_format("table {{.ID}} {{.Names}} {{.CreatedAt}}")
        assert render_table(compiled, [], {"ID": "container id"}) == "CONTAINER ID  NAMES       CREATED AT\n"

    def test_podman_ps_rows(self) -> None:
        compiled = compile_format("table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}")
        rows = [
            {"ID": "562316cf0ab3", "Image": "localhost/gt:latest", "Command": "/bin/true", "Status": "Created",
             "Ports": "", "Names": "gt-a"},
            {"ID": "b83670416ad3", "Image": "localhost/gt:latest", "Command": "/x", "Status": "Created",
             "Ports": "", "Names": "gt-longer-name-here"},
        ]
        assert render_table(compiled, rows, {"ID": "container id"}) == (
            "CONTAINER ID  IMAGE                COMMAND     STATUS      PORTS       NAMES\n"
            "562316cf0ab3  localhost/gt:latest  /bin/true   Created                 gt-a\n"
            "b83670416ad3  localhost/gt:latest  /x          Created                 gt-longer-name-here\n"
        )

    def test_noheading(self) -> None:
        table = render_table(compile_format("table {{.ID}} {{.Value}}"), ROWS[:2], noheading=True)
        assert table == "c061a0839e    one\nf10fc2e11057  two\n"
        assert render_table(compile_format("table {{.ID}}"), [], noheading=True) == ""

    def test_header_row_keeps_literal_text_and_padding(self) -> None:
        compiled = compile_format('table {{.ID}}: {{printf "%-14s" .Value}}|')
        assert render_table(compiled, ROWS[:1]) == "ID:          VALUE         |\nc061a0839e:  one           |\n"

    def test_header_row_shows_column_names_through_reshaping_functions(self) -> None:
        # as Docker does it: json, join, truncate, index ... leave the column name alone
        rows = [{"Names": ["x", "y"], "ID": "abcdef", "Labels": {"a": "1"}}]
        compiled = compile_format('table {{join .Names ","}} {{truncate .ID 3}} {{index .Labels "a"}} {{json .Labels}}')
        assert render_table(compiled, rows) == (
            "NAMES       ID          LABELS      LABELS\n"
            'x,y         abc         1           {"a":"1"}\n'
        )

    def test_header_row_for_nested_and_ranged_fields(self) -> None:
        compiled = compile_format("table {{.State.ExitCode}} {{range .Mounts}}{{.Destination}},{{end}}")
        rows = [{"State": {"ExitCode": 1}, "Mounts": [{"Destination": "/a"}, {"Destination": "/b"}]}]
        assert render_table(compiled, rows) == "EXIT CODE   DESTINATION,\n1           /a,/b,\n"

    def test_header_row_with_objects(self) -> None:
        compiled = compile_format('table {{.ID}} {{.Label "app"}} {{len .Names}}')
        rows = [Report("abc", ["n1", "n2"], labels={"app": "web"})]
        assert render_table(compiled, rows) == "ID          LABEL       NAMES\nabc         web         2\n"

    def test_an_empty_column_from_two_spaces(self) -> None:
        table = render_table(compile_format("table {{.ID}}  {{.Value}}"), ROWS[:1])
        assert table == "ID                      VALUE\nc061a0839e              one\n"

    def test_trailing_tab_pads_the_last_cell(self) -> None:
        table = render_table(compile_format("table {{.Value}}\\t{{.ID}}\\t"), ROWS[:1])
        assert table == "VALUE       ID          \none         c061a0839e  \n"

    def test_lines_without_tabs_end_a_column_block(self) -> None:
        compiled = compile_format("table {{.ID}}\\t{{.Value}}\\n--{{.Value}}--")
        assert render_table(compiled, ROWS[1:]) == (
            "ID          VALUE\n"
            "--VALUE--\n"
            "f10fc2e11057  two\n"
            "--two--\n"
            "1eb6fab5aa8f4b5cbfd3e66aa35e9b2a  three\n"
            "--three--\n"
        )

    def test_multiline_rows_align_as_one_block(self) -> None:
        compiled = compile_format("table {{.ID}}\\t{{.Value}}\\n{{.Value}}\\t{{.ID}}")
        assert render_table(compiled, ROWS[:1], noheading=True) == (
            "c061a0839e  one\none         c061a0839e\n"
        )

    def test_row_errors_propagate(self) -> None:
        with pytest.raises(TemplateError, match="can't evaluate field Nope in type Plain"):
            render_table(compile_format("table {{.Nope}}"), [Plain()])


# -- module hygiene -------------------------------------------------------------------------------


def test_module_imports_only_stdlib_and_compiles_no_regex() -> None:
    script = (
        "import re, sys, sysconfig, typing\n"
        "compiled = []\n"
        "original = re._compile\n"
        "re._compile = lambda *a, **k: compiled.append(a) or original(*a, **k)\n"
        "before = set(sys.modules)\n"
        "import otter.cli.gotemplate\n"
        "stdlib = sysconfig.get_paths()['stdlib']\n"
        "for name in sorted(set(sys.modules) - before):\n"
        "    path = getattr(sys.modules[name], '__file__', None) or ''\n"
        "    if not name.startswith('otter') and path and not path.startswith(stdlib):\n"
        "        print('third-party', name, path)\n"
        "print('regex compiled', len(compiled))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout == "regex compiled 0\n"
