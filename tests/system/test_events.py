"""`events` through the real CLI, each test on its own store (the log is `<runroot>/events/events.log`).

The statuses, JSON keys and line shapes are podman 4.3.1's with its file backend; otter
deliberately differs where marked: it records a `stop` event (Podman 4.4 added it), one
`cleanup` per exit (4.3.1 may write two), no `pull` event for an image already in the store,
and rejects a bad filter or time with exit 125 (4.3.1 prints nothing and exits 0).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import ENGINE, REPO, ROOTLESS, mounts_under

BB = "localhost/busybox:latest"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
HUMAN = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? [+-]\d{4} \S+ (container|image|volume) \S+ ")
otter_only = pytest.mark.skipif(ENGINE == "podman", reason="otter behaviour that podman 4.3.1 does not have")


@pytest.fixture
def clean(bb):
    """The busybox store, checked afterwards for leftover mounts."""
    yield bb
    bb.run("rm", "-a", "-f", expect=None)
    assert mounts_under(bb.root) == []


def events(engine, *args: str) -> list[str]:
    return engine.run("events", "--stream=false", *args).out.splitlines()


def statuses(engine, *filters: str) -> list[str]:
    return events(engine, "--format", "{{.Status}}", *filters)


def documents(engine, *args: str) -> list[dict]:
    return [json.loads(line) for line in events(engine, "--format", "json", *args)]


# -- containers ---------------------------------------------------------------------------------

def test_run_rm_sequence(clean):
    clean.run("run", "--rm", "--name", "once", BB, "true")
    assert statuses(clean, "-f", "container=once") == ["create", "init", "start", "attach", "died", "remove"]


def test_log_lives_under_runroot(clean):
    clean.run("create", "--name", "c1", BB, "true")
    with open(os.path.join(clean.runroot, "events", "events.log")) as f:
        docs = [json.loads(line) for line in f]
    assert [d["Status"] for d in docs if d["Type"] == "container"] == ["create"]


@otter_only
def test_detached_stop_rm_sequence(clean):
    cid = clean.run("run", "-d", "--name", "web", BB, "sleep", "100").out.strip()
    clean.run("stop", "-t", "0", "web")
    clean.run("rm", "web")
    assert statuses(clean, "-f", f"container={cid}") == \
        ["create", "init", "start", "died", "cleanup", "stop", "remove"]


def test_died_records_exit_code_and_labels(clean):
    clean.run("run", "--name", "x3", "-l", "tier=web", BB, "sh", "-c", "exit 3", expect=3)
    docs = documents(clean, "-f", "container=x3")
    assert [d["Status"] for d in docs] == ["create", "init", "start", "attach", "died", "cleanup"]
    died = docs[4]
    # Podman's key order; ContainerExitCode only when not 0 (Go's omitempty).
    assert list(died) == ["ContainerExitCode", "ID", "Image", "Name", "Status", "Time", "Type", "Attributes"]
    assert died["ContainerExitCode"] == 3
    assert HEX64.match(died["ID"]) and died["Image"] == BB and died["Name"] == "x3"
    assert RFC3339_NANO.match(died["Time"]) and died["Type"] == "container"
    assert died["Attributes"] == {"tier": "web"}
    assert "ContainerExitCode" not in docs[0]
    assert events(clean, "-f", "event=died", "--format", "{{.ContainerExitCode}} {{.Attributes}}") == \
        ["3 map[tier:web]"]


def test_lifecycle_verbs(clean):
    clean.run("run", "-d", "--name", "web", BB, "sleep", "100")
    clean.run("exec", "web", "true")
    clean.run("rename", "web", "web2")
    clean.run("kill", "web2")
    clean.run("wait", "web2", expect=None)
    clean.run("restart", "-t", "0", "web2")
    want = ["create", "init", "start", "exec", "exec_died", "rename", "kill", "died", "cleanup", "restart",
            "init", "start"]
    if not ROOTLESS:
        # No freezer without cgroups: rootless on cgroup v1 cannot pause.
        clean.run("pause", "web2")
        clean.run("unpause", "web2")
        want += ["pause", "unpause"]
    got = events(clean, "-f", "type=container", "--format", "{{.Status}} {{.Name}}")
    # 4.3.1 writes exec_died twice; each status once here is what matters.
    assert [line.split()[0] for line in got if not line.startswith("exec_died")] == \
        [s for s in want if s != "exec_died"]
    assert "exec_died web" in got
    assert got[got.index("kill web2") - 1] == "rename web2"     # events carry the name of their time


# -- images ---------------------------------------------------------------------------------------

def test_image_events(bb, tmp_path):
    bb.run("tag", BB, "foo:1")
    bb.run("untag", BB, "localhost/foo:1")
    bb.run("save", "-o", str(tmp_path / "bb.tar"), BB)
    bb.run("rmi", BB)
    bb.run("load", "-i", str(tmp_path / "bb.tar"))
    got = events(bb, "-f", "type=image", "--format", "{{.Status}} {{.Name}}")
    assert got == [f"loadfromarchive {os.path.join(REPO, 'build', 'busybox.tar')}", "tag foo:1",
                   "untag localhost/foo:1", f"save {tmp_path / 'bb.tar'}", f"untag {BB}", f"remove {BB}",
                   f"loadfromarchive {tmp_path / 'bb.tar'}"]
    image_id = bb.run("images", "-q", "--no-trunc").out.strip().removeprefix("sha256:")
    tag = documents(bb, "-f", "event=tag")[0]
    assert tag == {"ID": image_id, "Name": "foo:1", "Status": "tag", "Time": tag["Time"], "Type": "image",
                   "Attributes": None}
    if ENGINE != "podman":      # podman 4.3.1's loadfromarchive events carry no ID
        assert len(events(bb, "-f", f"image={image_id[:12]}", "-f", "type=image")) == 7


@otter_only
def test_import_and_prune_events(bb, tmp_path):
    bb.run("create", "--name", "c", BB)
    with open(tmp_path / "fs.tar", "wb") as f:
        f.write(bb.run("export", "c").stdout)
    image_id = bb.run("import", "-q", str(tmp_path / "fs.tar")).out.strip().removeprefix("sha256:")
    bb.run("image", "prune", "-f")
    assert events(bb, "-f", f"image={image_id}", "--format", "{{.Status}} {{.ID}} {{.Name}}") == \
        [f"import {image_id} {tmp_path / 'fs.tar'}", f"remove {image_id} "]


# -- volumes -------------------------------------------------------------------------------------

def test_volume_events(otter):
    otter.run("volume", "create", "v1")
    otter.run("volume", "rm", "v1")
    otter.run("volume", "create", "v2")
    otter.run("volume", "prune", "-f")
    assert events(otter, "--format", "{{.Type}} {{.Status}} {{.Name}}") == \
        ["volume create v1", "volume remove v1", "volume create v2", "volume remove v2", "volume prune v2"]
    assert events(otter, "-f", "volume=v2") == [line for line in events(otter) if line.endswith(" v2")]
    assert documents(otter, "-f", "volume=v1")[0]["Attributes"] is None


# -- output ----------------------------------------------------------------------------------------

def test_human_lines(clean):
    cid = clean.run("create", "--name", "c1", "-l", "a=b", BB, "true").out.strip()
    clean.run("volume", "create", "v")
    lines = events(clean)
    assert all(HUMAN.match(line) for line in lines)
    assert events(clean, "-f", "type=container")[0].endswith(f" container create {cid} (image={BB}, name=c1, a=b)")
    assert lines[-1].endswith(" volume create v")
    assert events(clean, "--no-trunc=false", "-f", "type=container")[0].endswith(
        f" container create {cid[:12]} (image={BB}, name=c1, a=b)")


def test_json_formats(clean):
    clean.run("create", "--name", "c1", BB, "true")
    as_json = events(clean, "--format", "json")
    assert as_json == events(clean, "--format", "{{json .}}")     # one object per line, both ways
    docs = [json.loads(line) for line in as_json]
    assert [d["Status"] for d in docs if d["Type"] == "container"] == ["create"]
    assert docs[0]["Status"] == "loadfromarchive"
    assert events(clean, "-f", "type=container", "--format", "{{.Type}}|{{.Image}}|{{.Name}}|{{len .ID}}") == \
        [f"container|{BB}|c1|64"]


def test_filters(clean):
    # Names that are no hex prefix: container= also matches the start of an ID, as in Podman.
    clean.run("create", "--name", "web", "-l", "app=x", BB, "true")
    clean.run("create", "--name", "job", BB, "true")
    clean.run("rm", "web", "job")
    fmt = ("--format", "{{.Status}} {{.Name}}")
    assert events(clean, *fmt, "-f", "container=web") == ["create web", "remove web"]
    assert events(clean, *fmt, "-f", "event=remove") == ["remove web", "remove job"]
    assert events(clean, *fmt, "-f", "status=create", "-f", "container=job") == ["create job"]
    assert events(clean, *fmt, "-f", "container=web", "-f", "container=job", "-f", "event=create") == \
        ["create web", "create job"]                      # one key's values are alternatives
    assert events(clean, *fmt, "-f", "label=app=x") == ["create web", "remove web"]
    assert events(clean, *fmt, "-f", "label=app") == ["create web", "remove web"]
    assert events(clean, *fmt, "-f", "type=volume") == []
    if ENGINE != "podman":      # image= also selects the events of containers made from the image
        assert events(clean, *fmt, "-f", f"image={BB}", "-f", "type=container") == \
            ["create web", "create job", "remove web", "remove job"]


def test_since_until(clean):
    clean.run("create", "--name", "early", BB, "true")
    time.sleep(0.05)
    middle = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    clean.run("create", "--name", "late", BB, "true")
    fmt = ("--format", "{{.Name}}", "-f", "type=container")
    assert events(clean, *fmt, "--since", middle) == ["late"]
    assert events(clean, *fmt, "--until", middle) == ["early"]
    assert events(clean, *fmt, "--since", str(time.time() - 3600)) == ["early", "late"]     # a Unix time
    assert events(clean, *fmt, "--since", "1h") == ["early", "late"]
    assert events(clean, *fmt, "--until", "1h") == ["early", "late"]       # a duration reaches forward
    assert events(clean, *fmt, "--since", "2099-01-01T00:00:00Z") == []


def test_stream_follows_until(otter):
    """Streaming prints what happens while it waits and stops once --until has passed."""
    env = {**os.environ, "PYTHONPATH": REPO}
    started = time.monotonic()
    proc = subprocess.Popen(otter.base + ["events", "--until", "4s", "--format", "{{.Status}} {{.Name}}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    time.sleep(1.5)
    otter.run("volume", "create", "live")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.decode() == "create live\n"
    assert time.monotonic() - started < 15


def test_empty_store(otter):
    assert events(otter) == []
    assert not os.path.exists(otter.root)                                  # reading makes nothing


# -- bad input ----------------------------------------------------------------------------------------

@otter_only
@pytest.mark.parametrize("args, message", [
    (("-f", "bogus=1"), 'Error: "bogus" is an invalid events filter'),
    (("-f", "container"), "Error: filter input must be in the form of filter=value: container is invalid"),
    (("--since", "yesterday"), "Error: invalid time 'yesterday'"),
    (("--until", "10 minutes"), "Error: invalid time '10 minutes'"),
    (("--format", "{{.Nope}}"), "Error: template:"),
    (("--format", "{{.Status"), "Error: template:"),
])
def test_bad_input(bb, args, message):
    r = bb.run("events", "--stream=false", *args, expect=125)
    assert r.err.startswith(message) and r.err.count("\n") == 1
    assert r.out == ""
