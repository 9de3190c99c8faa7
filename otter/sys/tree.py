"""Removing directory trees.

`shutil.rmtree` would do, but importing shutil pulls in bz2, lzma and fnmatch: about 1.5 ms
on every command that removes a container, which is most of them.
"""

from __future__ import annotations

import os


def remove_tree(path: str) -> None:
    """`rm -rf path`, best effort: symbolic links are removed, never followed; a missing path
    and entries that cannot be removed are left without error (the callers clean up state
    that may already be gone, and report what matters themselves)."""
    try:
        entries = os.scandir(path)
    except NotADirectoryError:
        _ignore(os.unlink, path)
        return
    except OSError:
        return
    with entries:
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                remove_tree(entry.path)
            else:
                _ignore(os.unlink, entry.path)
    _ignore(os.rmdir, path)


def _ignore(op, path: str) -> None:
    try:
        op(path)
    except OSError:
        pass
