"""Rootless set-up details that need no namespace: subordinate id ranges and the user tmpdir."""

from __future__ import annotations

import pytest

from otter.engine.userns import subordinate_range
from otter.errors import InvalidArgument


def test_range_by_name_and_by_uid(tmp_path):
    f = tmp_path / "subuid"
    f.write_text("alice:100000:65536\n1002:300000:1000\n")
    assert subordinate_range(str(f), 1001, "alice") == (100000, 65536)
    assert subordinate_range(str(f), 1002, "bob") == (300000, 1000)


@pytest.mark.parametrize("content", ["", "bob:1:5\n", None])
def test_missing_range_is_explained(tmp_path, content):
    f = tmp_path / "subuid"
    if content is not None:
        f.write_text(content)
    with pytest.raises(InvalidArgument, match="no subordinate ids for user 'alice'"):
        subordinate_range(str(f), 1001, "alice")


@pytest.mark.parametrize("content", ["alice:x:5\n", "alice:100000:0\n"])
def test_malformed_or_empty_range(tmp_path, content):
    f = tmp_path / "subuid"
    f.write_text(content)
    with pytest.raises(InvalidArgument):
        subordinate_range(str(f), 1001, "alice")
