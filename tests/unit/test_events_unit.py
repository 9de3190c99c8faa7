"""The events log at the engine level: the line format, times, filters, and concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from otter.engine import events
from otter.errors import InvalidArgument
from otter.paths import StorePaths

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FakeEngine:
    def __init__(self, tmp_path):
        self.paths = StorePaths(str(tmp_path / "root"), str(tmp_path / "run"))


def test_line_is_podmans_json(tmp_path):
    eng = FakeEngine(tmp_path)
    events.emit(eng, "container", "died", "c" * 64, "web", "localhost/busybox:latest", {"a": "b"}, exit_code=3)
    events.emit(eng, "volume", "create", name="v1")
    with open(os.path.join(str(tmp_path), "run", "events", "events.log")) as f:
        died, vol = [json.loads(line) for line in f]
    assert list(died) == ["ContainerExitCode", "ID", "Image", "Name", "Status", "Time", "Type", "Attributes"]
    assert vol == {"Name": "v1", "Status": "create", "Time": vol["Time"], "Type": "volume", "Attributes": None}
    assert [e.status for e in events.read_events(eng)] == ["died", "create"]


def test_filters(tmp_path):
    eng = FakeEngine(tmp_path)
    events.emit(eng, "container", "create", "abc123" + "0" * 58, "web", "localhost/busybox:latest", {"app": "x"})
    events.emit(eng, "image", "tag", "def456" + "0" * 58, "foo:1")
    events.emit(eng, "volume", "remove", name="v1")

    def names(*flags):
        return [e.name for e in events.read_events(eng, filters=events.parse_filters(flags))]

    assert names("container=abc") == names("container=web") == ["web"]
    assert names("image=localhost/busybox:latest") == ["web"]
    assert names("image=def4") == names("image=sha256:def456") == ["foo:1"]
    assert names("type=volume") == names("volume=v1") == ["v1"]
    assert names("event=tag", "event=remove") == names("status=tag", "status=remove") == ["foo:1", "v1"]
    assert names("label=app=x") == names("label=app") == ["web"]
    assert names("label=app=y") == []
    with pytest.raises(InvalidArgument, match='"bogus" is an invalid events filter'):
        events.parse_filters(["bogus=1"])
    with pytest.raises(InvalidArgument, match="filter input must be in the form of filter=value: web is invalid"):
        events.parse_filters(["web"])


def test_window_and_unreadable_lines(tmp_path):
    eng = FakeEngine(tmp_path)
    events.emit(eng, "volume", "create", name="old")
    middle = time.time_ns()
    events.emit(eng, "volume", "create", name="new")
    with open(eng.paths.events_log, "ab") as f:
        f.write(b"not json\n{\"Type\": \"volume\"}\n")
    assert [e.name for e in events.read_events(eng, since=middle)] == ["new"]
    assert [e.name for e in events.read_events(eng, until=middle)] == ["old"]


def test_failed_write_is_a_warning(tmp_path, capsys):
    blocker = tmp_path / "run"
    blocker.write_text("a file where the runroot should be")
    events.emit(FakeEngine(tmp_path), "volume", "create", name="v")
    assert "unable to write volume event 'create'" in capsys.readouterr().err


WRITER = """
import sys
from otter.engine import events
from otter.paths import StorePaths
class E: paths = StorePaths(sys.argv[1], sys.argv[2])
for i in range(200):
    events.emit(E, "container", "exec", sys.argv[3] * 64, "n", "img", {"pad": "x" * 16384})
"""


def test_concurrent_writers_never_interleave(tmp_path):
    """Lines far longer than PIPE_BUF from four processes at once: every one stays whole."""
    eng = FakeEngine(tmp_path)
    env = {**os.environ, "PYTHONPATH": REPO}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, eng.paths.root, eng.paths.runroot, c], env=env)
             for c in "abcd"]
    assert [p.wait(timeout=60) for p in procs] == [0] * 4
    with open(eng.paths.events_log, "rb") as f:
        lines = f.read().splitlines()
    assert len(lines) == 800
    assert sorted(json.loads(line)["ID"][0] for line in lines) == sorted("abcd" * 200)
    assert len(events.read_events(eng)) == 800
