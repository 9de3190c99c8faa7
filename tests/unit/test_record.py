"""otter.record: dataclass semantics, the same before and after a class's __init__ is compiled."""

import pytest

from otter.record import field, fields, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list)


@record(frozen=False)
class Report:
    name: str
    count: int = 1


def _construct_all(cls_count: int):
    """Every way of calling Point, `cls_count` times over, so later rounds use the compiled __init__."""
    results = []
    for _ in range(cls_count):
        results.append((Point(1), Point(1, 2), Point(x=1, y=2), Point(1, tags=["a"]), Point(1, 2, ["b"])))
    return results


def test_instances_are_the_same_before_and_after_compilation():
    rounds = _construct_all(6)      # 30 instances: well past the generic ones
    assert all(r == rounds[0] for r in rounds)
    first = rounds[0]
    assert first[0] == Point(1, 0, []) and first[0].tags is not first[3].tags
    assert repr(first[1]) == "Point(x=1, y=2, tags=[])"
    assert first[4].tags == ["b"]


@pytest.mark.parametrize("call", [
    lambda: Point(),                   # missing a required field
    lambda: Point(1, 2, [], 4),        # too many positionals
    lambda: Point(1, x=2),             # given twice
    lambda: Point(1, z=3),             # unknown keyword
])
def test_bad_arguments_raise_type_error_generic_and_compiled(call):
    for _ in range(12):
        with pytest.raises(TypeError):
            call()
        Point(1)


def test_frozen_and_mutable():
    p = Point(1)
    with pytest.raises(AttributeError):
        p.x = 2
    for _ in range(12):
        r = Report("a")
        r.count += 1
        assert r.count == 2
    assert [f.name for f in fields(Point)] == ["x", "y", "tags"]
    assert replace(Point(1, 2), y=5) == Point(1, 5)
