"""Engine: the one object the front ends (CLI, API) talk to.

It owns the store (paths, database, content store, layer store, image store) for one
invocation, opened lazily so a command touches only what it needs, and the store lock that
serialises writers across processes. Verb functions live in sibling modules
(`engine.images`, ...) and take an Engine as their first argument.
"""

from __future__ import annotations

import os
from functools import cached_property

from otter.db import Database
from otter.paths import StorePaths
from otter.sys.filelock import FileLock

DEFAULT_DRIVER = "overlay"


class Engine:
    def __init__(self, paths: StorePaths, storage_driver: str | None = None, rootless: bool | None = None,
                 runtime: str = "runc", storage_opts: tuple[str, ...] = ()):
        self.paths = paths
        self.runtime_name = runtime
        self._requested_driver = storage_driver
        self._requested_program = None
        if storage_opts:
            # Checked before anything is created: a bad option leaves no store behind.
            from otter.storage.selection import requested_mount_program
            self._requested_program = requested_mount_program(storage_opts, storage_driver)
        if rootless is None:
            from otter.sys.userns import rootless_uid
            rootless = rootless_uid() is not None
        self.rootless = rootless

    def has_store(self) -> bool:
        """Whether the store exists. Read-only verbs answer "nothing" for a missing store without
        creating it; a store they may not enter (another user's) is an error, not "empty"."""
        try:
            os.stat(self.paths.database)
            return True
        except FileNotFoundError:
            return False
        except PermissionError:
            from otter.errors import InvalidArgument
            raise InvalidArgument(f"cannot use the store at {self.paths.root}: permission denied "
                                  "(it belongs to another user)") from None

    @cached_property
    def db(self) -> Database:
        return Database(self.paths.database, self.paths.database_lock)

    @cached_property
    def _recorded_storage(self) -> dict[str, str]:
        """The snapshotter settings the store recorded when it was created (`driver`,
        `mount_program`); empty for a new store."""
        if not os.path.exists(self.paths.database):
            return {}
        try:
            rows = self.db.connection().execute("SELECT key, value FROM store_meta").fetchall()
        except Exception:  # noqa: BLE001 - a store without the table yet has recorded nothing
            return {}
        return {row["key"]: row["value"] for row in rows}

    @cached_property
    def _storage(self) -> tuple[str, str]:
        """(driver, overlay mount program or ""): as asked for, else as the store recorded (a
        store made with a mount program keeps using it), else the default; for a new rootless
        store, what the kernel allows (`storage.selection`)."""
        recorded = self._recorded_storage
        if "driver" in recorded:
            driver = self._requested_driver or recorded["driver"]
            kept = recorded.get("mount_program", "") if driver == recorded["driver"] else ""
            return driver, self._requested_program or kept
        driver = self._requested_driver or DEFAULT_DRIVER
        if self._requested_program or not self.rootless or driver != "overlay":
            return driver, self._requested_program or ""
        from otter.storage.selection import rootless_overlay
        self.enter_namespace()    # the probe mounts
        return rootless_overlay(self.paths, by_name=self._requested_driver is not None)

    @property
    def driver(self) -> str:
        return self._storage[0]

    @property
    def mount_program(self) -> str:
        """The program that mounts overlay snapshots instead of the kernel ("" for none)."""
        return self._storage[1]

    def enter_namespace(self) -> None:
        """Join the rootless user namespace now, if this command did not at start-up (the
        read-only ones, `cli.main.READ_ONLY_COMMANDS`): storage and the runtime only work
        inside it. A no-op for root and once joined; single-threaded callers only."""
        if self.rootless:
            from otter.engine.userns import ensure_joined
            ensure_joined()

    @cached_property
    def snapshotter(self):
        self.enter_namespace()
        from otter.storage.snapshot import snapshotter
        return snapshotter(self.driver, self.paths, self.rootless, self.mount_program)

    @cached_property
    def runtime(self):
        """The OCI runtime driver (runc by default, `--runtime`)."""
        self.enter_namespace()
        from otter.drivers.runc import Runtime, resolve_runtime
        return Runtime(resolve_runtime(self.runtime_name), self.paths.runtime_state)

    def global_args(self) -> list[str]:
        """The flags that make another otter process use this same store and runtime."""
        args = ["--root", self.paths.root, "--runroot", self.paths.runroot, "--storage-driver", self.driver,
                "--runtime", self.runtime_name]
        if self.mount_program:
            args += ["--storage-opt", f"overlay.mount_program={self.mount_program}"]
        return args

    @cached_property
    def content(self):
        from otter.image.content import ContentStore
        return ContentStore(self.paths)

    @cached_property
    def layers(self):
        from otter.storage.layers import LayerStore
        return LayerStore(self.db, self.snapshotter)

    @cached_property
    def images(self):
        from otter.image.store import ImageStore
        return ImageStore(self.db, lambda: self.content, lambda: self.layers)

    def lock(self) -> FileLock:
        """The store-wide writer lock (blobs, layers, image records)."""
        return self._lock

    @cached_property
    def _lock(self) -> FileLock:
        return FileLock(self.paths.store_lock)

    # -- what containers need from the image side -----------------------------------------
    def image_users(self) -> dict[str, list[str]]:
        """Image ID -> IDs of the containers created from it."""
        from otter.core.state import ContainerState
        return ContainerState(self.db).image_users()

    def volume_users(self) -> dict[str, list[str]]:
        """Volume name -> IDs of the containers that mount it."""
        from otter.core.state import ContainerState
        return ContainerState(self.db).volume_users()

    def container_layers(self) -> set[str]:
        """Top layer (chain ID) of every container's image: layers garbage collection keeps."""
        out: set[str] = set()
        for image_id in self.image_users():
            rec = self.images.get(image_id)
            if rec and rec.top_layer:
                out.add(rec.top_layer)
        return out

    def gc(self) -> None:
        self.images.gc(self.container_layers())
        if os.path.isdir(self.paths.idmapped_layers(self.driver)):
            from otter.engine.idmapping import collect
            collect(self)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
