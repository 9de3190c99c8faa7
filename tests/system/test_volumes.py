"""`volume` commands through the real CLI, each test on its own store.

The expectations are podman 4.3.1's (run with OTTER_TEST_ENGINE=podman to check them); the few
places where otter deliberately differs are marked. Volumes in use need containers, which these
tests do not create (see tests/unit/test_mounts.py for the in-use rules at the engine level).
"""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.conftest import ENGINE

HEX64 = re.compile(r"^[0-9a-f]{64}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+$")
INSPECT_KEYS = ["Name", "Driver", "Mountpoint", "CreatedAt", "Labels", "Scope", "Options", "MountCount",
                "NeedsCopyUp", "NeedsChown"]
NAME_ERROR = "Error: running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument\n"
otter_only = pytest.mark.skipif(ENGINE == "podman", reason="otter behaviour that podman 4.3.1 does not have")


def volume_dirs(engine) -> list[str]:
    """Volume directories in the store (podman also keeps a device node there)."""
    base = os.path.join(engine.root, "volumes")
    return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d))) if os.path.isdir(base) else []


def names(engine, *args: str) -> list[str]:
    return engine.run("volume", "ls", "-q", *args).out.split()


def test_create_ls_inspect_rm(otter):
    assert otter.run("volume", "ls").out == ""            # no volumes: not even the header
    assert otter.run("volume", "create", "v1").out == "v1\n"
    assert otter.run("volume", "ls").out == "DRIVER      VOLUME NAME\nlocal       v1\n"
    doc, = json.loads(otter.run("volume", "inspect", "v1").out)
    assert list(doc) == INSPECT_KEYS
    assert doc["Name"] == "v1" and doc["Driver"] == "local" and doc["Scope"] == "local"
    assert doc["Mountpoint"] == os.path.join(otter.root, "volumes", "v1", "_data")
    assert os.path.isdir(doc["Mountpoint"]) and os.stat(doc["Mountpoint"]).st_mode & 0o777 == 0o755
    assert RFC3339.match(doc["CreatedAt"])
    assert doc["Labels"] == {} and doc["Options"] == {} and doc["MountCount"] == 0
    assert doc["NeedsCopyUp"] is True and doc["NeedsChown"] is True
    assert otter.run("volume", "rm", "v1").out == "v1\n"
    assert otter.run("volume", "ls").out == ""
    assert volume_dirs(otter) == []


def test_create_without_name(otter):
    name = otter.run("volume", "create").out.strip()
    assert HEX64.match(name)
    assert names(otter) == [name]
    assert json.loads(otter.run("volume", "inspect", name).out)[0]["Name"] == name


def test_labels_and_options(otter):
    otter.run("volume", "create", "--label", "a=b", "-l", "c", "-l", "d=1=2", "-o", "nocopy", "v")
    doc = json.loads(otter.run("volume", "inspect", "v").out)[0]
    assert doc["Labels"] == {"a": "b", "c": "", "d": "1=2"}
    assert doc["Options"] == {"nocopy": ""}
    assert otter.run("volume", "inspect", "--format", "{{.Labels}} {{.Options}}", "v").out == \
        "map[a:b c: d:1=2] map[nocopy:]\n"
    otter.run("volume", "create", "-l", "x=1,y=2", "csv")       # a comma-separated list, as cobra reads it
    assert json.loads(otter.run("volume", "inspect", "csv").out)[0]["Labels"] == {"x": "1", "y": "2"}


def test_ls_output_shapes(otter):
    for name in ("b", "a"):
        otter.run("volume", "create", name)
    assert otter.run("volume", "ls").out == "DRIVER      VOLUME NAME\nlocal       a\nlocal       b\n"
    assert otter.run("volume", "ls", "--noheading").out == "local       a\nlocal       b\n"
    assert otter.run("volume", "ls", "-q").out == "a\nb\n"
    assert otter.run("volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").out == "a local local\nb local local\n"
    line = otter.run("volume", "ls", "--format", "{{.Mountpoint}}|{{.CreatedAt}}|{{.Anonymous}}", "--filter",
                     "name=a").out.rstrip("\n").split("|")
    assert line[0] == os.path.join(otter.root, "volumes", "a", "_data")
    assert GO_TIME.match(line[1]) and line[2] == "false"
    listed = json.loads(otter.run("volume", "ls", "--format", "json").out)
    assert [d["Name"] for d in listed] == ["a", "b"] and list(listed[0]) == INSPECT_KEYS


def test_ls_table_format(otter):
    otter.run("volume", "create", "v1")
    assert otter.run("volume", "ls", "--format", "table {{.Name}} {{.Driver}}").out == \
        "VOLUME NAME  DRIVER\nv1           local\n"


def test_ls_filters(otter):
    otter.run("volume", "create", "--label", "team=core", "--label", "tier", "alpha")
    otter.run("volume", "create", "--label", "team=web", "beta")
    otter.run("volume", "create", "gamma")
    assert names(otter, "--filter", "label=team") == ["alpha", "beta"]
    assert names(otter, "--filter", "label=team=core") == ["alpha"]
    assert names(otter, "--filter", "label=tier") == ["alpha"]
    assert names(otter, "--filter", "label=team=none") == []
    assert names(otter, "--filter", "name=a$") == ["alpha", "beta", "gamma"]     # a regular expression, unanchored
    assert names(otter, "--filter", "name=^be") == ["beta"]
    assert names(otter, "--filter", "name=alpha", "--filter", "name=gamma") == ["alpha", "gamma"]
    assert names(otter, "--filter", "driver=local") == ["alpha", "beta", "gamma"]
    assert names(otter, "--filter", "driver=other") == []
    assert names(otter, "--filter", "dangling=true") == ["alpha", "beta", "gamma"]
    assert names(otter, "--filter", "dangling=false") == []
    for bad, message in [
        ("bogus=1", 'Error: "bogus" is an invalid volume filter\n'),
        ("dangling=yes", 'Error: "yes" is not a valid value for the "dangling" filter - must be true or false\n'),
        ("label", "Error: filter input must be in the form of filter=value: label is invalid\n"),
    ]:
        assert otter.run("volume", "ls", "--filter", bad, expect=125).err == message


@otter_only
def test_ls_filters_of_different_keys_must_all_match(otter):
    # Podman 4.3.1 returns volumes matching ANY filter here; Docker and later Podman require all.
    otter.run("volume", "create", "--label", "team=core", "alpha")
    otter.run("volume", "create", "beta")
    assert names(otter, "--filter", "name=a", "--filter", "label=team") == ["alpha"]


def test_create_errors(otter):
    otter.run("volume", "create", "v1")
    dup = otter.run("volume", "create", "v1", expect=125)
    assert dup.out == "" and dup.err == "Error: volume with name v1 already exists: volume already exists\n"
    assert otter.run("volume", "create", "bad name", expect=125).err == NAME_ERROR
    assert otter.run("volume", "create", "--", "-x", expect=125).err == NAME_ERROR
    assert otter.run("volume", "create", "-o", "bogus=1", "v2", expect=125).err == \
        "Error: invalid mount option bogus for driver 'local': invalid argument\n"
    assert otter.run("volume", "create", "a", "b", expect=125).err.startswith("Error: accepts at most 1 arg(s)")
    assert names(otter) == ["v1"] and volume_dirs(otter) == ["v1"]


@otter_only
def test_create_otter_only(otter):
    otter.run("volume", "create", "v1")
    assert otter.run("volume", "create", "--ignore", "v1").out == "v1\n"      # Podman >= 4.4
    assert otter.run("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "t", expect=125).err.startswith(
        "Error: volume option ")                                          # mounted volumes: not yet
    assert names(otter) == ["v1"] and volume_dirs(otter) == ["v1"]


def test_rm(otter):
    for name in ("v1", "v2", "v3"):
        otter.run("volume", "create", name)
    missing = otter.run("volume", "rm", "nope", expect=1)
    assert missing.out == "" and missing.err == 'Error: no volume with name "nope" found: no such volume\n'
    mixed = otter.run("volume", "rm", "nope", "v1", "nope2", expect=1)
    assert mixed.out == "v1\n"
    assert mixed.err == ('Error: no volume with name "nope" found: no such volume\n'
                         'Error: no volume with name "nope2" found: no such volume\n')
    assert otter.run("volume", "rm", "-f", "nope", "v2").out == "v2\n"       # --force ignores missing volumes
    assert otter.run("volume", "rm", expect=125).err == "Error: choose either one or more volumes or all\n"
    assert otter.run("volume", "rm", "-a", "v3", expect=125).err == "Error: choose either one or more volumes or all\n"
    assert names(otter) == ["v3"]
    otter.run("volume", "create", "v4")
    assert otter.run("volume", "rm", "--all").out == "v3\nv4\n"
    assert names(otter) == [] and volume_dirs(otter) == []


def test_prune(otter):
    assert otter.run("volume", "prune", "-f").out == ""
    no_volumes = otter.run("volume", "prune", input=b"")
    assert no_volumes.out.endswith("The following volumes will be removed:\nNo dangling volumes found\n")
    for name in ("b", "a"):
        otter.run("volume", "create", name)
    declined = otter.run("volume", "prune", input=b"n\n")
    assert declined.out == ("WARNING! This will remove all volumes not used by at least one container. "
                            "The following volumes will be removed:\na\nb\nAre you sure you want to continue? [y/N] ")
    assert names(otter) == ["a", "b"]
    assert otter.run("volume", "prune", input=b"", expect=125).err == "Error: EOF\n"
    assert otter.run("volume", "prune", input=b"y\n").out.endswith("[y/N] a\nb\n")
    assert names(otter) == [] and volume_dirs(otter) == []
    otter.run("volume", "create", "c")
    assert otter.run("volume", "prune", "--force").out == "c\n"
    assert volume_dirs(otter) == []


def test_exists(otter):
    otter.run("volume", "create", "v1")
    assert otter.run("volume", "exists", "v1").out == ""
    assert otter.run("volume", "exists", "nope", expect=1).out == ""
    assert otter.run("volume", "exists", expect=125).err.startswith("Error: ")


def test_inspect(otter):
    otter.run("volume", "create", "v1")
    otter.run("volume", "create", "v2")
    missing = otter.run("volume", "inspect", "nope", expect=125)
    assert json.loads(missing.out) == [] and missing.err == "Error: inspecting object: no such volume nope\n"
    mixed = otter.run("volume", "inspect", "v2", "nope", expect=125)
    assert [d["Name"] for d in json.loads(mixed.out)] == ["v2"]
    assert [d["Name"] for d in json.loads(otter.run("volume", "inspect", "--all").out)] == ["v1", "v2"]
    assert otter.run("volume", "inspect", "--format", "{{.Name}} {{.Scope}} {{.NeedsCopyUp}}", "v1", "v2").out == \
        "v1 local true\nv2 local true\n"
    assert GO_TIME.match(otter.run("volume", "inspect", "-f", "{{.CreatedAt}}", "v1").out.strip())
    assert otter.run("volume", "inspect", expect=125).err == "Error: provide one or more volume names or use --all\n"


def test_bad_subcommand(otter):
    assert otter.run("volume", expect=125).returncode == 125
    bad = otter.run("volume", "bogus", expect=125)
    assert bad.err.startswith("Error: unrecognized command `") and "volume bogus`" in bad.err
