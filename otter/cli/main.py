"""The `otter` command: global flags, command dispatch, and the one place errors become exit codes.

Start-up is a feature: this module imports only the standard library pieces it needs, and
builds the argument parser of the invoked command alone, importing that command's module
lazily (`COMMANDS` maps a command name to "module:function").
"""

from __future__ import annotations

import gc
import os
import sys

from otter import __version__
from otter.errors import CommandNotExecutable, CommandNotFound, InUse, InvalidState, NotFound, OtterError

# name -> ("module:function", one-line help). Aliases point at the same function.
COMMANDS: dict[str, tuple[str, str]] = {
    "image": ("otter.cli.image:cmd_image", "Manage images"),
    "images": ("otter.cli.image:cmd_list", "List images in local storage"),
    "import": ("otter.cli.image:cmd_import", "Import a tarball to create a filesystem image"),
    "load": ("otter.cli.image:cmd_load", "Load image(s) from a tar archive"),
    "save": ("otter.cli.image:cmd_save", "Save image(s) to an archive"),
    "tag": ("otter.cli.image:cmd_tag", "Add an additional name to a local image"),
    "untag": ("otter.cli.image:cmd_untag", "Remove a name from a local image"),
    "rmi": ("otter.cli.image:cmd_rm", "Remove one or more images from local storage"),
    "history": ("otter.cli.image:cmd_history", "Show history of a specified image"),
    "pull": ("otter.cli.registry:cmd_pull", "Pull an image from a registry"),
    "push": ("otter.cli.registry:cmd_push", "Push an image to a specified destination"),
    "login": ("otter.cli.registry:cmd_login", "Log in to a container registry"),
    "logout": ("otter.cli.registry:cmd_logout", "Log out of a container registry"),
    "inspect": ("otter.cli.inspect:cmd_inspect", "Display the configuration of object denoted by ID"),
    "volume": ("otter.cli.volume:cmd_volume", "Manage volumes"),
    "container": ("otter.cli.container:cmd_container", "Manage containers"),
    "run": ("otter.cli.container:cmd_run", "Run a command in a new container"),
    "create": ("otter.cli.container:cmd_create", "Create but do not start a container"),
    "start": ("otter.cli.container:cmd_start", "Start one or more containers"),
    "stop": ("otter.cli.container:cmd_stop", "Stop one or more containers"),
    "restart": ("otter.cli.container:cmd_restart", "Restart one or more containers"),
    "kill": ("otter.cli.container:cmd_kill", "Kill one or more running containers with a specific signal"),
    "rm": ("otter.cli.container:cmd_rm", "Remove one or more containers"),
    "ps": ("otter.cli.container:cmd_ps", "List containers"),
    "wait": ("otter.cli.container:cmd_wait", "Block on one or more containers"),
    "pause": ("otter.cli.container:cmd_pause", "Pause all the processes in one or more containers"),
    "unpause": ("otter.cli.container:cmd_unpause", "Unpause the processes in one or more containers"),
    "rename": ("otter.cli.container:cmd_rename", "Rename an existing container"),
    "exec": ("otter.cli.container:cmd_exec", "Run a process in a running container"),
    "logs": ("otter.cli.container:cmd_logs", "Fetch the logs of one or more containers"),
    "attach": ("otter.cli.container:cmd_attach", "Attach to a running container"),
    "top": ("otter.cli.container:cmd_top", "Display the running processes of a container"),
    "unshare": ("otter.cli.unshare:cmd_unshare", "Run a command in a modified user namespace"),
    "port": ("otter.cli.container:cmd_port", "List port mappings or a specific mapping for the container"),
    "cp": ("otter.cli.container_files:cmd_cp", "Copy files/folders between a container and the local filesystem"),
    "diff": ("otter.cli.container_files:cmd_diff", "Display the changes to the object's file system"),
    "commit": ("otter.cli.container_files:cmd_commit", "Create new image based on the changed container"),
    "export": ("otter.cli.container_files:cmd_export", "Export container's filesystem contents as a tar archive"),
    "stats": ("otter.cli.stats:cmd_stats", "Display container resource usage statistics"),
    "events": ("otter.cli.events:cmd_events", "Show otter system events"),
    "info": ("otter.cli.system:cmd_info", "Display otter system information"),
    "version": ("otter.cli.system:cmd_version", "Display the otter version information"),
    "system": ("otter.cli.system:cmd_system", "Manage otter"),
    "completion": ("otter.cli.completion:cmd_completion", "Generate shell autocompletions"),
}

# Commands that never touch a store, so never need the rootless user namespace.
NO_STORE_COMMANDS = {"help", "version", "completion"}
# Commands that read the store: rootless, they join the namespace only if they come to touch
# storage or the runtime (`Engine.enter_namespace`), e.g. `ps` cleaning up a container that
# died. Joining costs a few milliseconds; Podman's listings pay it every time.
READ_ONLY_COMMANDS = {"ps", "images", "port", "logs", "events", "history"}

GLOBAL_FLAGS_WITH_VALUE = {"--root", "--runroot", "--storage-driver", "--log-level", "--runtime"}
# Flags given as often as needed, every value kept in order.
REPEATABLE_GLOBAL_FLAGS = {"--storage-opt"}


class UsageError(OtterError):
    """Bad command line: unknown flag or command, missing argument."""


class ExitStatus(Exception):
    """Raised by a command to end with a specific code after printing its own output."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def exit_code_for(err: OtterError, rm_like: bool = False) -> int:
    """Podman's exit codes. `rm_like` commands (rm, rmi, volume rm, ...) use 1 for a missing
    object and 2 for one in use; everything else is 125 except a container command that
    cannot be run (126) or found (127)."""
    if isinstance(err, CommandNotExecutable):
        return 126
    if isinstance(err, CommandNotFound):
        return 127
    if rm_like and isinstance(err, NotFound):
        return 1
    if rm_like and isinstance(err, (InUse, InvalidState)):
        return 2
    return 125


class Context:
    """What every command gets: the global options and a lazily opened Engine."""

    def __init__(self, root: str | None, runroot: str | None, storage_driver: str | None, log_level: str,
                 runtime: str = "runc", storage_opts: tuple[str, ...] = ()):
        self.runtime = runtime
        self.root = root
        self.runroot = runroot
        self.storage_driver = storage_driver
        self.storage_opts = storage_opts
        self.log_level = log_level
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from otter.engine.context import Engine
            from otter.paths import StorePaths
            self._engine = Engine(StorePaths.for_user(self.root, self.runroot), self.storage_driver,
                                  runtime=self.runtime, storage_opts=self.storage_opts)
        return self._engine


def print_error(msg: str) -> None:
    sys.stderr.write(f"Error: {msg}\n")


def usage() -> str:
    lines = ["Manage pods, containers and images", "", "Usage:", "  otter [options] [command]", "", "Available Commands:"]
    for name, (_, help_text) in sorted(COMMANDS.items()):
        lines.append(f"  {name:<12}{help_text}")
    lines += ["", "Options:",
              "      --log-level string        Log messages above specified level (trace, debug, info, warn, error) (default \"warn\")",
              "      --runtime string          Path to the OCI-compatible binary used to run containers (default \"runc\")",
              "      --root string             Path to the root directory in which data, including images, is stored",
              "      --runroot string          Path to the 'run directory' where all state information is stored",
              "      --storage-driver string   Select which storage driver is used to manage storage of images and containers (overlay, vfs)",
              "      --storage-opt string      Used to pass an option to the storage driver (overlay.mount_program=PATH)",
              "  -v, --version                 Version of otter",
              "  -h, --help                    Help for otter"]
    return "\n".join(lines) + "\n"


def parse_globals(argv: list[str]) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    """Split `otter [global flags] command args...`; global flags come before the command.
    Returns the flags' values (the last one given), the values of repeatable flags (all of
    them) and the command with its arguments."""
    opts: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if name in GLOBAL_FLAGS_WITH_VALUE or name in REPEATABLE_GLOBAL_FLAGS:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}")
                value = argv[i]
            if name in REPEATABLE_GLOBAL_FLAGS:
                repeated.setdefault(name, []).append(value)
            else:
                opts[name] = value
        elif name in ("-v", "--version", "-h", "--help"):
            opts[name] = "true"
        elif name == "-H" or name == "--host":
            sys.stderr.write("otter is daemonless: ignoring -H/--host\n")
            if not eq:
                i += 1
        else:
            raise UsageError(f"unknown flag: {arg}")
        i += 1
    return opts, repeated, argv[i:]


def load(target: str):
    """The function named by "package.module:function", its module imported now (through
    `__import__`: `importlib` would add half a millisecond to every command)."""
    module, func = target.split(":")
    return getattr(__import__(module, fromlist=(func,)), func)


def resolve(name: str):
    return load(COMMANDS[name][0])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts, repeated, rest = parse_globals(argv)
        if "-v" in opts or "--version" in opts:
            sys.stdout.write(f"otter version {__version__}\n")
            return 0
        if not rest:
            sys.stdout.write(usage())
            return 0 if ("-h" in opts or "--help" in opts) else 125
        from otter import log
        level = opts.get("--log-level", "warn")
        if level not in log.LEVELS:
            raise UsageError(f'invalid log level "{level}": use one of {", ".join(log.LEVELS)}')
        log.set_level(level)
        command, args = rest[0], rest[1:]
        if command == "help":
            sys.stdout.write(usage())
            return 0
        if command not in COMMANDS:
            raise UsageError(f"unrecognized command `otter {command}`\nTry 'otter --help' for more information")
        if command not in NO_STORE_COMMANDS and command not in READ_ONLY_COMMANDS and os.getuid() != 0:
            from otter.engine.userns import ensure_joined
            ensure_joined()
        ctx = Context(opts.get("--root"), opts.get("--runroot"), opts.get("--storage-driver"), level,
                      opts.get("--runtime", "runc"), tuple(repeated.get("--storage-opt", ())))
        try:
            # The cyclic collector would walk the command's freshly imported modules again and
            # again while they load (2-3 ms of `inspect`); they live as long as the process, so
            # it is paused for the import and then told to leave them alone for good.
            gc.disable()
            try:
                func = resolve(command)
            finally:
                gc.freeze()
                gc.enable()
            return func(ctx, args, f"otter {command}") or 0
        finally:
            if ctx._engine is not None:
                ctx._engine.close()
    except ExitStatus as e:
        return e.code
    except OtterError as e:
        print_error(str(e))
        return exit_code_for(e)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output closed early (e.g. `otter images | head -1`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        print_error(str(e))
        return 125
    except Exception as e:  # noqa: BLE001 - a bug still gets one line; the trace at debug level
        from otter import log
        if log.enabled("debug"):
            import traceback
            traceback.print_exc()
        print_error(f"internal error: {type(e).__name__}: {e}")
        return 125


def run() -> None:
    """The entry point of the `otter` command and of `python -m otter`: `main()`, then exit
    without the interpreter's finalization.

    Finalization (tearing down every module, a last garbage collection) costs about 3 ms,
    more than `inspect` spends on its own work. Once stdout and stderr are flushed it has
    nothing left to do unless something registered for it: a non-daemon thread still running,
    or an atexit callback. In that case the normal exit runs instead."""
    try:
        code = main()
    except SystemExit as e:
        code = e.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            # Output closed early or already: nothing left to write, and not an error.
            pass
    if _finalization_needed():
        sys.exit(code)
    os._exit(code)


def _finalization_needed() -> bool:
    import atexit
    ncallbacks = getattr(atexit, "_ncallbacks", None)
    if ncallbacks is None or ncallbacks():
        return True
    threading = sys.modules.get("threading")
    return threading is not None and any(
        t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread())
