"""The character-by-character checks in otter.image.reference accept exactly what the
distribution/reference regular expressions accept."""

import random
import re

import pytest

from otter.image import reference

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
GRAMMAR = {
    reference._valid_path: re.compile(rf"{COMPONENT}(?:/{COMPONENT})*"),
    reference._valid_domain: re.compile(rf"{LABEL}(?:\.{LABEL})*(?::[0-9]+)?"),
    reference._valid_tag: re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
    reference._valid_digest: re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}"),
}
ALPHABET = "ab09AZ._-_/:+@ é\n"


def _samples(rng: random.Random):
    fixed = ["busybox", "library/busybox", "a__b", "a___b", "a--b", "a-", "-a", "a..b", "a._b", "A", "",
             "localhost", "localhost:5000", "127.0.0.1:5000", "my-host.example.com", "host-.com", "host:",
             "host:12a", "v1.2.3-rc_1", ".hidden", "x" * 128, "x" * 129, "sha256:" + "ab" * 32,
             "sha256+b64:" + "A" * 32, "sha256:" + "a" * 31, "sha__256:" + "a" * 40, "a//b", "a/b/"]
    yield from fixed
    for _ in range(4000):
        yield "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 12)))
    for _ in range(500):
        yield "sha256:" + "".join(rng.choice("0123456789abcdefG") for _ in range(rng.randrange(30, 66)))


@pytest.mark.parametrize("check", list(GRAMMAR), ids=lambda f: f.__name__)
def test_checks_accept_what_the_grammar_accepts(check):
    pattern = GRAMMAR[check]
    for text in _samples(random.Random(11)):
        assert check(text) == bool(pattern.fullmatch(text)), repr(text)


def test_ids():
    assert reference.looks_like_id("a" * 64) and reference.looks_like_id("sha256:" + "0" * 64)
    assert not reference.looks_like_id("A" * 64) and not reference.looks_like_id("a" * 63)
    assert not reference.looks_like_id("sha512:" + "a" * 64)
