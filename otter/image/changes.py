"""`--change` instructions (`import -c`, `commit -c`): Dockerfile lines applied to an image config.

Accepted forms: `CMD ["sh"]`, `CMD sh -c x` (shell form), `CMD=["sh"]` and `CMD=sh`.
Supported instructions: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
VOLUME, WORKDIR, as Podman accepts.
"""

from __future__ import annotations

import shlex

from otter import jsoncodec
from otter.errors import InvalidArgument

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def _split_instruction(change: str) -> tuple[str, str]:
    text = change.strip()
    cut = min((i for i in (text.find(" "), text.find("=")) if i > 0), default=-1)
    if cut < 0:
        raise InvalidArgument(f"invalid change {change!r}: expected INSTRUCTION VALUE")
    return text[:cut].upper(), text[cut + 1:].strip()


def _exec_form(value: str) -> list[str] | None:
    if value.startswith("["):
        try:
            parsed = jsoncodec.loads(value)
        except ValueError:
            return None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
    return None


def _pairs(value: str, what: str) -> dict[str, str]:
    out = {}
    words = shlex.split(value)
    if len(words) == 2 and "=" not in words[0]:
        return {words[0]: words[1]}
    for word in words:
        key, sep, val = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"invalid {what} {word!r}: expected KEY=VALUE")
        out[key] = val
    return out


def apply_changes(config: dict, changes: list[str]) -> dict:
    """Return a copy of the container config section `config` with `changes` applied."""
    cfg = jsoncodec.loads(jsoncodec.dumps(config or {}))
    for change in changes:
        instr, value = _split_instruction(change)
        if instr not in SUPPORTED:
            raise InvalidArgument(f"invalid change {change!r}: {instr} is not one of {', '.join(SUPPORTED)}")
        if instr in ("CMD", "ENTRYPOINT"):
            cfg["Cmd" if instr == "CMD" else "Entrypoint"] = _exec_form(value) or ["/bin/sh", "-c", value]
        elif instr == "ENV":
            env = [e for e in cfg.get("Env") or []]
            for key, val in _pairs(value, "ENV").items():
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={val}"]
            cfg["Env"] = env
        elif instr == "LABEL":
            cfg.setdefault("Labels", {}).update(_pairs(value, "LABEL"))
        elif instr == "EXPOSE":
            for port in value.split():
                cfg.setdefault("ExposedPorts", {})[port if "/" in port else port + "/tcp"] = {}
        elif instr == "VOLUME":
            for vol in _exec_form(value) or value.split():
                cfg.setdefault("Volumes", {})[vol] = {}
        elif instr == "ONBUILD":
            cfg.setdefault("OnBuild", []).append(value)
        else:
            cfg[{"STOPSIGNAL": "StopSignal", "USER": "User", "WORKDIR": "WorkingDir"}[instr]] = value
    return cfg
