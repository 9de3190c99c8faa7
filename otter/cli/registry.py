"""`otter pull`, `push`, `login`, `logout` (and `otter image pull|push`).

Progress goes to stderr (one line per step, or redrawn bars on a terminal), results to
stdout: the image ID for pull, the manifest digest for push, as Podman prints them.
"""

from __future__ import annotations

import re
import sys

from otter.cli.common import Parser, parse, write
from otter.cli.main import UsageError

_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, flag: str) -> float:
    """A Go duration (`1s`, `500ms`, `1m30s`) or a plain number of seconds, in seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    while pos < len(text) or not text:
        m = _DURATION_RE.match(text, pos)
        if not m:
            raise UsageError(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    return total


def _add_registry_flags(p: Parser, transfer: bool = True) -> None:
    p.add_argument("--authfile", help="Path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override")
    p.add_bool("--tls-verify", default=None, help="Require HTTPS and verify certificates when contacting registries")
    p.add_argument("--cert-dir", help="Use certificates at the specified path to access the registry")
    p.add_argument("--registries-conf", help="Path of the registries configuration file (default /etc/otter/registries.conf)")
    if transfer:
        p.add_argument("--creds", help="Use `[username[:password]]` for accessing the registry")
        p.add_argument("--retry", type=int, default=3, help="Number of times to retry in case of failure when performing pull or push")
        p.add_argument("--retry-delay", help="Delay between retries in case of pull or push failures (default: 1s, doubling)")


def _registry_options(args):
    from otter.engine.registry import RegistryOptions
    delay = parse_duration(args.retry_delay, "--retry-delay") if getattr(args, "retry_delay", None) else None
    return RegistryOptions(tls_verify=args.tls_verify, cert_dir=args.cert_dir, authfile=args.authfile,
                           creds=getattr(args, "creds", None), retry=getattr(args, "retry", 3), retry_delay=delay,
                           registries_conf=args.registries_conf)


def _progress(quiet: bool):
    from otter.engine.progress import Progress, TextProgress
    return Progress() if quiet else TextProgress(sys.stderr)


def cmd_pull(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Pull an image from a registry")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_bool("-a", "--all-tags", help="Pull all tagged images in the repository")
    p.add_bool("-q", "--quiet", help="Suppress output information when pulling images")
    p.add_argument("--platform", help="Specify the platform for selecting the image (OS/ARCH[/VARIANT])")
    p.add_argument("--arch", help="Use ARCH instead of the architecture of the machine for choosing images")
    p.add_argument("--os", help="Use OS instead of the running OS for choosing images")
    p.add_argument("--variant", help="Use VARIANT instead of the running architecture variant for choosing images")
    _add_registry_flags(p)
    args = parse(p, argv)
    from otter.engine.registry import PullOptions, image_pull
    registry = _registry_options(args)
    progress = _progress(args.quiet)
    for image in args.images:
        recs = image_pull(ctx.engine, PullOptions(image, args.all_tags, args.platform, args.arch, args.os,
                                                  args.variant, registry), progress)
        write("".join(rec.id + "\n" for rec in recs))
    return 0


def cmd_push(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Push an image to a specified destination")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("destination", nargs="?", metavar="DESTINATION")
    p.add_bool("-q", "--quiet", help="Suppress output information when pushing images")
    p.add_argument("--compression-format", default="gzip", help="compression format to use (gzip, zstd)")
    p.add_argument("--compression-level", type=int, help="compression level to use")
    p.add_argument("-f", "--format", help="Manifest type (oci, v2s2) to use in the destination (default: the image's)")
    p.add_argument("--digestfile", help="Write the digest of the pushed image to the specified file")
    _add_registry_flags(p)
    args = parse(p, argv)
    from otter.engine.registry import PushOptions, image_push
    report = image_push(ctx.engine, PushOptions(args.image, args.destination, args.compression_format,
                                                args.compression_level, args.format, args.digestfile,
                                                _registry_options(args)), _progress(args.quiet))
    write(report.digest + "\n")
    return 0


def cmd_login(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Log in to a container registry")
    p.add_argument("registry", nargs="?", metavar="REGISTRY")
    p.add_argument("-u", "--username", help="Username for registry")
    p.add_argument("-p", "--password", help="Password for registry")
    p.add_bool("--password-stdin", help="Take the password from stdin")
    p.add_bool("--get-login", help="Return the current login user for the registry")
    _add_registry_flags(p, transfer=False)
    args = parse(p, argv)
    from otter.engine.registry import LoginOptions, registry_login
    lines = registry_login(LoginOptions(args.registry, args.username, args.password, args.password_stdin,
                                        args.get_login, _registry_options(args)), sys.stdin)
    write("".join(line + "\n" for line in lines))
    return 0


def cmd_logout(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Log out of a container registry")
    p.add_argument("registry", nargs="?", metavar="REGISTRY")
    p.add_bool("-a", "--all", help="Remove the cached credentials for all registries in the auth file")
    p.add_argument("--authfile", help="Path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override")
    p.add_argument("--registries-conf", help="Path of the registries configuration file")
    args = parse(p, argv)
    from otter.engine.registry import LogoutOptions, RegistryOptions, registry_logout
    if args.all and args.registry:
        raise UsageError("--all takes no registry argument")
    message = registry_logout(LogoutOptions(args.registry, args.all,
                                            RegistryOptions(authfile=args.authfile,
                                                            registries_conf=args.registries_conf)))
    write(message + "\n")
    return 0
