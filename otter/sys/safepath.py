"""Path handling that never leaves a root directory.

`clean_member_name` turns an archive entry name into a relative path or refuses it;
`resolve_in_root` resolves a relative path under a root the way the kernel would inside a
container whose `/` is that root: symlinks are followed, absolute targets restart at the
root, and `..` stops at the root. This is how a hostile layer or `cp` target is kept inside.
"""

from __future__ import annotations

import os
import posixpath
import stat

from otter.errors import UnsafeContent

MAX_SYMLINKS = 40


def clean_member_name(name: str) -> str:
    """Normalise an archive entry name to a clean relative path.

    Absolute names are re-rooted (`/etc/x` -> `etc/x`), as Docker and Podman do. A name whose
    `..` components climb above the root is refused. Returns "" for the root itself.
    """
    norm = posixpath.normpath("/" + name.lstrip("/")) if name else "/"
    if any(part == ".." for part in name.split("/")):
        # normpath of "/"+name silently clamps at "/"; a real climb above the root is hostile.
        depth = 0
        for part in name.lstrip("/").split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    raise UnsafeContent(f"archive entry {name!r} escapes the root directory")
            elif part not in ("", "."):
                depth += 1
    return norm.lstrip("/")


def resolve_in_root(root: str, rel: str, follow_last: bool = True) -> str:
    """Return the host path for `rel` inside `root`, following symlinks without escaping.

    Components that do not exist are appended literally (so the result can be created).
    """
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        is_last = not parts
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(part)
            continue
        if stat.S_ISLNK(st.st_mode) and (follow_last or not is_last):
            links += 1
            if links > MAX_SYMLINKS:
                raise UnsafeContent(f"too many levels of symbolic links resolving {rel!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)
