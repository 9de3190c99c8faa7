"""Diagnostics on stderr in logrus' text format (`time="..." level=debug msg="..."`), as Podman
prints them. The level is set once by the CLI (`--log-level`); nothing is imported or
formatted unless a message is actually emitted."""

from __future__ import annotations

import sys
import time

LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")
_RANK = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "warning": 3, "error": 4, "fatal": 5, "panic": 6}
_threshold = _RANK["warn"]
_START = time.perf_counter()


def set_level(level: str) -> None:
    global _threshold
    _threshold = _RANK[level]


def enabled(level: str) -> bool:
    return _RANK[level] >= _threshold


def _emit(level: str, msg: str) -> None:
    if _RANK[level] < _threshold:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S") + time.strftime("%z")
    text = msg.replace("\\", "\\\\").replace('"', '\\"')
    sys.stderr.write(f'time="{stamp}" level={level} msg="{text}"\n')


def debug(msg: str) -> None:
    _emit("debug", msg)


def timing(msg: str) -> None:
    """A debug line stamped with the milliseconds since otter started."""
    if _RANK["debug"] >= _threshold:
        _emit("debug", f"{msg} (+{(time.perf_counter() - _START) * 1000:.1f} ms)")


def info(msg: str) -> None:
    _emit("info", msg)


def warning(msg: str) -> None:
    _emit("warning", msg)
