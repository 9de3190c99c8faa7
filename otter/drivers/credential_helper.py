"""The credential-helper driver: `docker-credential-NAME get`, Docker's protocol for secrets
kept outside the config file (OS keychains, pass, cloud IAM helpers).

Protocol: the server URL is written to the helper's stdin; it prints
`{"ServerURL": ..., "Username": ..., "Secret": ...}` on stdout, or exits non-zero with
"credentials not found in native keychain" when it has nothing for that server. A Username of
`<token>` means the Secret is an identity token, not a password.

The helper's output holds a secret, so it never appears in an error message or a log line.
"""

from __future__ import annotations

import subprocess

from otter import jsoncodec, log
from otter.drivers.runc import find_binary
from otter.errors import InvalidArgument, RegistryError

NOT_FOUND = "credentials not found"
TIMEOUT_S = 60


def get(helper: str, server: str) -> tuple[str, str] | None:
    """(username, secret) that `docker-credential-<helper>` holds for `server`, or None."""
    name = f"docker-credential-{helper}"
    binary = find_binary(name)
    if binary is None:
        raise InvalidArgument(f"credential helper {name} is configured but not installed")
    log.debug(f"running {binary} get for {server}")
    try:
        proc = subprocess.run([binary, "get"], input=server.encode(), capture_output=True, timeout=TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RegistryError(f"{name} get: no answer within {TIMEOUT_S}s") from None
    if proc.returncode != 0:
        if NOT_FOUND in (proc.stdout + proc.stderr).decode(errors="replace").lower():
            return None
        raise RegistryError(f"{name} get {server}: exit status {proc.returncode}")
    try:
        doc = jsoncodec.loads(proc.stdout)
        return str(doc["Username"]), str(doc["Secret"])
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"{name} get {server}: the helper's answer is not valid JSON") from None
