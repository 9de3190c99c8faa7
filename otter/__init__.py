"""otter: a daemonless, rootless-first container engine, command-line compatible with Podman.

The package is layered; each layer imports only the layers below it:

    cli/      argument parsing and output formatting (front end)
    engine/   one verb per function, taking *Options and returning *Report lists
    core/     container/pod/volume records and their state machines
    image/    content store, image store, archives, registry client
    storage/  layer unpacking and snapshotters that return mount descriptions
    spec/     OCI wire types
    drivers/  exactly one module per external program
    sys/      raw syscalls through ctypes and safe path handling

`paths.StorePaths` is the single authority for every on-disk location, `errors` holds the
exception hierarchy the CLI maps to exit codes, and `db` opens the per-store SQLite database.
"""

__version__ = "0.1.0"
