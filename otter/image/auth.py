"""Registry credentials: Podman's auth.json, Docker's config.json and credential helpers.

Vocabulary:
  authfile     a JSON file `{"auths": {KEY: {"auth": base64("user:password")}}, "credHelpers":
               {REGISTRY: NAME}, "credsStore": NAME}` (Podman's auth.json and Docker's
               config.json share the format). KEY is a registry (`quay.io`), or a registry and
               a namespace or repository (`quay.io/team`); the most specific key matching a
               repository wins. Docker writes Docker Hub as `https://index.docker.io/v1/`:
               keys are normalised (scheme and `/v1/` dropped, Docker Hub is `docker.io`).
  credentials  a username and a secret. The secret is a password, or an identity token (an
               OAuth2 refresh token some registries hand out at login).
  helper       `docker-credential-NAME` (drivers/credential_helper): `credHelpers` names one
               per registry, `credsStore` one for every registry the file has no entry for.

Where credentials are read (the first file that knows the registry wins): the authfile given
with `--authfile` (alone), else `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`
(`/run/containers/UID/auth.json` without XDG_RUNTIME_DIR), then
`$XDG_CONFIG_HOME/containers/auth.json`, then `~/.docker/config.json`. `login` writes and
`logout` edits only the first of those.
"""

from __future__ import annotations

import base64
import os

from otter import jsoncodec
from otter.errors import InvalidArgument
from otter.image.reference import DOCKER_DOMAIN

DOCKER_HUB_KEYS = ("index.docker.io", "registry-1.docker.io", "docker.io")
DOCKER_HUB_HELPER_URL = "https://index.docker.io/v1/"


class Credentials:
    """A username and a secret. Deliberately not a `record`: a record's repr prints every
    field, and a repr ends up in tracebacks and debug output. This one never shows the secret."""

    __slots__ = ("identity_token", "password", "username")

    def __init__(self, username: str, password: str = "", identity_token: str = ""):
        self.username = username
        self.password = password
        self.identity_token = identity_token

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, secret=<redacted>)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Credentials) and (self.username, self.password, self.identity_token) == \
            (other.username, other.password, other.identity_token)

    __hash__ = None  # type: ignore[assignment]

    def basic(self) -> str:
        """The value of an `Authorization: Basic` header."""
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def parse_creds(text: str) -> Credentials:
    """`--creds USERNAME[:PASSWORD]`; without a password it is asked for on the terminal."""
    username, sep, password = text.partition(":")
    if not username:
        raise InvalidArgument("invalid --creds: the username is empty")
    if not sep:
        password = ask_password(f"Password for {username}: ")
    return Credentials(username, password)


def ask_password(prompt: str) -> str:
    import sys
    if not sys.stdin.isatty():
        raise InvalidArgument("a password is needed but standard input is not a terminal: use --password-stdin or -p")
    import getpass
    return getpass.getpass(prompt)


# -- files -------------------------------------------------------------------------------

def default_auth_file() -> str:
    env = os.environ.get("REGISTRY_AUTH_FILE")
    if env:
        return env
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        return os.path.join(runtime_dir, "containers", "auth.json")
    from otter.sys.userns import rootless_uid
    return f"/run/containers/{rootless_uid() or 0}/auth.json"


def _read_files(authfile: str | None) -> list[str]:
    if authfile:
        return [authfile]
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return [default_auth_file(), os.path.join(config_home, "containers", "auth.json"),
            os.path.join(os.path.expanduser("~"), ".docker", "config.json")]


def _load(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            doc = jsoncodec.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"reading credentials from {path}: {getattr(e, 'strerror', None) or 'not valid JSON'}") \
            from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"reading credentials from {path}: not a JSON object")
    return doc


def normalize_key(key: str) -> str:
    """`https://index.docker.io/v1/` -> `docker.io`, `http://host:5000/` -> `host:5000`."""
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme):].split("/", 1)[0]
    key = key.rstrip("/")
    domain, sep, rest = key.partition("/")
    if domain in DOCKER_HUB_KEYS:
        domain = DOCKER_DOMAIN
    return domain + sep + rest


def _candidate_keys(repository: str) -> list[str]:
    """`host/a/b` -> [`host/a/b`, `host/a`, `host`]: the most specific key first."""
    parts = normalize_key(repository).split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _decode(entry: dict, where: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    token = entry.get("identitytoken") or ""
    raw = entry.get("auth") or ""
    if not raw:
        return Credentials("", "", token) if token else None
    try:
        username, sep, password = base64.b64decode(raw).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(f"reading credentials from {where}: an auth entry is not base64 of user:password") \
            from None
    if not sep:
        raise InvalidArgument(f"reading credentials from {where}: an auth entry is not base64 of user:password")
    return Credentials(username, password, token)


def _from_helper(helper: str, registry: str) -> Credentials | None:
    from otter.drivers import credential_helper
    server = DOCKER_HUB_HELPER_URL if registry == DOCKER_DOMAIN else registry
    found = credential_helper.get(helper, server)
    if found is None:
        return None
    username, secret = found
    if username == "<token>":
        return Credentials("", "", secret)
    return Credentials(username, secret)


def lookup(repository: str, authfile: str | None = None) -> Credentials | None:
    """The credentials for `repository` (`host` or `host/path`), or None."""
    keys = _candidate_keys(repository)
    registry = keys[-1]
    for path in _read_files(authfile):
        doc = _load(path)
        helpers = {normalize_key(k): v for k, v in (doc.get("credHelpers") or {}).items()}
        if registry in helpers:
            return _from_helper(helpers[registry], registry)
        auths = {normalize_key(k): v for k, v in (doc.get("auths") or {}).items()}
        for key in keys:
            if key in auths:
                creds = _decode(auths[key], path)
                if creds is not None:
                    return creds
        if doc.get("credsStore"):
            creds = _from_helper(doc["credsStore"], registry)
            if creds is not None:
                return creds
    return None


def known_elsewhere(key: str) -> str | None:
    """A file other than the default authfile holding credentials for exactly `key`."""
    for path in _read_files(None)[1:]:
        auths = {normalize_key(k) for k in (_load(path).get("auths") or {})}
        if normalize_key(key) in auths:
            return path
    return None


def _write(path: str, doc: dict) -> None:
    """Replace the authfile atomically, readable only by its owner."""
    import tempfile
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".auth-")
    try:
        with os.fdopen(fd, "w") as f:
            jsoncodec.dump(doc, f, indent=1)
            f.write("\n")
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _entries(doc: dict) -> dict:
    auths = doc.get("auths")
    if not isinstance(auths, dict):
        auths = doc["auths"] = {}
    return auths


def store(key: str, creds: Credentials, authfile: str | None = None) -> str:
    """Record `creds` for `key` in the authfile; returns its path."""
    path = authfile or default_auth_file()
    doc = _load(path)
    auths = _entries(doc)
    for k in [k for k in auths if normalize_key(k) == normalize_key(key)]:
        del auths[k]
    auths[normalize_key(key)] = {"auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
    _write(path, doc)
    return path


def remove(key: str, authfile: str | None = None) -> bool:
    """Forget the credentials for `key`; False when the authfile had none."""
    path = authfile or default_auth_file()
    doc = _load(path)
    auths = _entries(doc)
    keys = [k for k in auths if normalize_key(k) == normalize_key(key)]
    for k in keys:
        del auths[k]
    if keys:
        _write(path, doc)
    return bool(keys)


def remove_all(authfile: str | None = None) -> None:
    path = authfile or default_auth_file()
    doc = _load(path)
    if doc.get("auths"):
        doc["auths"] = {}
        _write(path, doc)
