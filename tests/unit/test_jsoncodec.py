"""otter.jsoncodec writes and reads exactly what the standard json package does."""

import json
import math
import random

import pytest

from otter import jsoncodec

DOCS = [
    None, True, False, 0, -7, 2**70, 1.5, -0.0, 1e-7, 1e300, "", "plain", "ünïcødé ☃ \U0001f600",
    "quote \" backslash \\ controls \b\f\n\r\t \x00 \x1f", [], {}, [[]], {"": {}},
    {"Id": "abc", "State": {"Pid": 0, "Running": False, "Error": ""}, "Args": ["sh", "-c", "true"],
     "Labels": {"a": "1", "b": None}, "Mounts": [{"Type": "bind", "RW": True}], "Size": 12.25},
    {"b": 1, "a": [1, {"z": [], "y": {}}], 3: "int key", 2.5: "float key", True: "t", None: "n"},
    (1, 2, (3,)),
]


def _random_doc(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-10**12, 10**12)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind in (3, 4, 5):
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x3000)])) for _ in range(rng.randrange(8)))
    if kind in (6, 7):
        return [_random_doc(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(_random_doc(rng, 4)): _random_doc(rng, depth + 1) for _ in range(rng.randrange(4))}


def _all_docs():
    rng = random.Random(7)
    return DOCS + [_random_doc(rng) for _ in range(300)]


@pytest.mark.parametrize("options", [
    {}, {"indent": 4, "ensure_ascii": False}, {"indent": 1}, {"indent": 5, "ensure_ascii": False},
    {"separators": (",", ":")}, {"separators": (",", ":"), "ensure_ascii": False}, {"sort_keys": True},
    {"indent": 2, "sort_keys": True},
])
def test_dumps_matches_json(options):
    for doc in _all_docs():
        if options.get("sort_keys") and isinstance(doc, dict) and len({type(k) for k in doc}) > 1:
            continue  # mixed key types cannot be sorted by either encoder
        assert jsoncodec.dumps(doc, **options) == json.dumps(doc, **options), doc


def test_dumps_special_floats():
    doc = [math.inf, -math.inf, math.nan]
    assert jsoncodec.dumps(doc) == json.dumps(doc) == "[Infinity, -Infinity, NaN]"
    assert jsoncodec.dumps(doc, indent=2) == json.dumps(doc, indent=2)


def test_dumps_refuses_what_json_refuses():
    for bad in ({1, 2}, object(), {"k": b"bytes"}):
        with pytest.raises(TypeError):
            jsoncodec.dumps(bad)
        with pytest.raises(TypeError):
            jsoncodec.dumps(bad, indent=4)


def test_loads_matches_json():
    for doc in _all_docs():
        for text in (json.dumps(doc), json.dumps(doc, indent=3, ensure_ascii=False)):
            assert jsoncodec.loads(text) == json.loads(text)
            assert jsoncodec.loads(f" \n\t{text}\r\n ".encode()) == json.loads(text)


def test_loads_bytes_with_byte_order_mark():
    assert jsoncodec.loads(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}


@pytest.mark.parametrize("text, message", [
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("   ", "Expecting value: line 1 column 4 (char 3)"),
    ("{\"a\": 1} x", "Extra data: line 1 column 10 (char 9)"),
    ("[1,\n 2,\n ]", "Expecting value: line 3 column 2 (char 9)"),
    ("{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)"),
    ("\"unterminated", "Unterminated string starting at: line 1 column 1 (char 0)"),
    ("nul", "Expecting value: line 1 column 1 (char 0)"),
])
def test_loads_errors_read_as_json_s(text, message):
    with pytest.raises(jsoncodec.DecodeError) as caught:
        jsoncodec.loads(text)
    assert str(caught.value) == message
    with pytest.raises(json.JSONDecodeError) as reference:
        json.loads(text)
    assert str(reference.value) == message
    assert isinstance(caught.value, ValueError)
