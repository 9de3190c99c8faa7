"""Registry client: the OCI distribution API (Docker Registry HTTP API v2) over urllib3.

Vocabulary:
  registry     a host[:port] serving the API under `/v2/` (Docker Hub's `docker.io` is served
               by `registry-1.docker.io`).
  repository   a path inside a registry (`library/busybox`).
  ping         `GET /v2/` without credentials: it tells whether the registry is there, which
               scheme it speaks (with TLS not verified, plain HTTP is tried after HTTPS) and,
               with a 401, how to authenticate.
  challenge    the `WWW-Authenticate` header of a 401: `Basic realm=...` (send the
               credentials with every request) or `Bearer realm=...,service=...[,scope=...]`
               (fetch a token from the realm, then send the token).
  scope        what a bearer token allows: `repository:NAME:pull` or `repository:NAME:pull,push`.
               Tokens are cached per set of scopes and reused by every request that needs the
               same scopes (every blob of a pull shares one token) until they expire.
  transient    a failure worth trying again: connection errors, broken streams, 429 and 5xx.
               Every operation is retried `retry` times, waiting `retry_delay` seconds
               (default: 1 s, doubling) or what a 429's `Retry-After` asks for.
  upload       a blob push: a session is opened (`POST .../blobs/uploads/`), the bytes are sent
               and the session is closed with the digest (`PUT ...?digest=`). Bytes whose digest
               is known are sent in one PUT (monolithic); bytes produced on the fly (a layer
               being compressed) are streamed in one chunked-encoding PATCH. A registry that
               refuses either gets the bytes again in fixed-size `Content-Range` PATCH chunks.
  mount        `POST .../blobs/uploads/?mount=DIGEST&from=REPO`: ask the registry to link a
               blob it already has in another repository, instead of uploading it.

Nothing here prints. Log lines (`--log-level debug`) carry the method and the URL, never a
header: credentials and tokens travel only in `Authorization` headers and token request bodies.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from otter import __version__, log
from otter.errors import CorruptContent, InvalidArgument, RegistryError, Unauthorized
from otter.image.auth import Credentials
from otter.record import record
from otter.spec import image as oci

DOCKER_HUB_API = "registry-1.docker.io"
MANIFEST_LIMIT = 4 << 20          # the distribution spec's suggested maximum manifest size
CONFIG_LIMIT = 64 << 20
READ_CHUNK = 1 << 20
UPLOAD_CHUNK = 8 << 20            # Content-Range chunk size when a registry refuses one-piece uploads
TOKEN_LIFETIME_S = 60             # what the token spec says to assume when `expires_in` is absent
MAX_RETRY_AFTER_S = 60.0
USER_AGENT = f"otter/{__version__}"
ACCEPT_MANIFESTS = f"{oci.OCI_INDEX}, {oci.DOCKER_LIST}, {oci.OCI_MANIFEST}, {oci.DOCKER_MANIFEST}"
# Statuses with which a registry says "not like this" to an upload strategy (rather than
# "not at all"): the chunked strategy is tried next.
UPLOAD_UNSUPPORTED = (400, 405, 411, 413, 416, 501)


class TransientError(RegistryError):
    """A failure that may go away when tried again."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _Unsupported(RegistryError):
    """The registry refused an upload strategy (see UPLOAD_UNSUPPORTED)."""


# -- WWW-Authenticate -----------------------------------------------------------------------

@record
class Challenge:
    scheme: str          # lower case: "bearer" or "basic"
    params: dict         # auth-param names lower case: realm, service, scope, error


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# Unquoted values are taken up to the next comma or space: some registries send `realm=https://...`
# unquoted, which RFC 7235's token syntax would not allow.
_PARAM_RE = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",\s]+))\s*')
_SCHEME_RE = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Parse a `WWW-Authenticate` value (RFC 7235: challenges separated by commas, each a
    scheme followed by `name=value` or `name="quoted \\"value\\""` parameters)."""
    out: list[Challenge] = []
    pos, n = 0, len(header)
    while pos < n:
        if header[pos] in ", \t":
            pos += 1
            continue
        m = _SCHEME_RE.match(header, pos)
        if not m:
            raise RegistryError(f"malformed WWW-Authenticate header: {header[:200]!r}")
        scheme, pos = m.group(1).lower(), m.end()
        params: dict[str, str] = {}
        while pos < n:
            p = _PARAM_RE.match(header, pos)
            if not p:
                break
            value = p.group(2) if p.group(2) is not None else p.group(3)
            params[p.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            pos = p.end()
            if pos < n and header[pos] == ",":
                pos += 1
            elif pos < n:
                raise RegistryError(f"malformed WWW-Authenticate header: {header[:200]!r}")
        out.append(Challenge(scheme, params))
    if not out:
        raise RegistryError("malformed WWW-Authenticate header: empty")
    return out


def _pick_challenge(header: str | None, what: str) -> Challenge:
    if not header:
        raise RegistryError(f"{what}: the registry answered 401 without a WWW-Authenticate header")
    for c in parse_www_authenticate(header):
        if c.scheme == "bearer":
            if not c.params.get("realm", "").startswith(("https://", "http://")):
                raise RegistryError(f"{what}: malformed WWW-Authenticate header: the Bearer realm is not a URL")
            return c
        if c.scheme == "basic":
            return c
    raise RegistryError(f"{what}: unsupported authentication scheme in WWW-Authenticate: {header[:200]!r}")


# -- options --------------------------------------------------------------------------------

@record
class ClientOptions:
    """How to talk to registries, from the command's flags.

    tls_verify  True/False from `--tls-verify`; None: verify unless the registries
                configuration marks the registry insecure.
    cert_dir    `--cert-dir`: `*.crt` CA certificates and `*.cert`/`*.key` client pairs;
                without it `/etc/otter/certs.d/HOST`, `/etc/containers/certs.d/HOST` and
                `/etc/docker/certs.d/HOST` are used when they exist.
    creds       `--creds`, overriding the authfiles.
    """

    tls_verify: bool | None = None
    cert_dir: str | None = None
    authfile: str | None = None
    creds: Credentials | None = None
    retry: int = 3
    retry_delay: float | None = None


CERT_DIRS = ("/etc/otter/certs.d", "/etc/containers/certs.d", "/etc/docker/certs.d")


def _ssl_context(host: str, verify: bool, cert_dir: str | None):
    import ssl
    if verify:
        ctx = ssl.create_default_context()
    else:
        # Not create_default_context(): loading the system CA store costs ~20 ms, for nothing here.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    dirs = [cert_dir] if cert_dir else [os.path.join(d, host) for d in CERT_DIRS]
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            if cert_dir:
                raise InvalidArgument(f"--cert-dir {cert_dir}: no such directory") from None
            continue
        try:
            for name in names:
                path = os.path.join(d, name)
                if name.endswith(".crt"):
                    ctx.load_verify_locations(cafile=path)
                elif name.endswith(".cert"):
                    ctx.load_cert_chain(path, path[:-5] + ".key")
        except (ssl.SSLError, OSError) as e:
            raise InvalidArgument(f"loading certificates from {d}: {e}") from None
    return ctx


def _redact(url: str) -> str:
    """A URL fit for a log line: no userinfo, no query (pre-signed redirect URLs carry secrets)."""
    url = re.sub(r"//[^/@]*@", "//", url)
    return url.split("?", 1)[0]


def _scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


# -- errors ---------------------------------------------------------------------------------

def _reason(exc: BaseException) -> str:
    """A short human description of a transport failure ("connection refused")."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if isinstance(inner, BaseException):
            exc = inner
            continue
        if isinstance(exc, OSError) and exc.strerror and not exc.__class__.__module__.startswith("urllib3"):
            return exc.strerror.lower()
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    text = str(exc)
    text = re.sub(r"^\S*Connection\(host='[^']*', port=\d+\): ", "", text)
    text = re.sub(r"^<urllib3[^>]*>: ", "", text)
    return text.lower().replace("[errno 111] ", "")


def _transport_error(exc: BaseException, what: str) -> RegistryError:
    import ssl

    from urllib3 import exceptions as ux
    inner = exc.reason if isinstance(exc, ux.MaxRetryError) and exc.reason is not None else exc
    if isinstance(inner, ux.SSLError):
        cause = inner.__cause__ or inner.__context__ or (inner.args[0] if inner.args else inner)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return RegistryError(f"{what}: tls: certificate verify failed: {cause.verify_message or cause.reason} "
                                 "(use --tls-verify=false, or --cert-dir with the registry's CA certificate)")
        # Not transient: a handshake that failed once fails the same way again.
        reason = _reason(inner)
        hint = " (the registry may speak plain HTTP: use --tls-verify=false)" if "wrong version number" in reason else ""
        return RegistryError(f"{what}: tls: {reason}{hint}")
    if isinstance(exc, ux.MaxRetryError) and isinstance(inner, ux.ResponseError):
        return RegistryError(f"{what}: too many redirects")
    return TransientError(f"{what}: {_reason(inner)}")


def _error_text(resp) -> str:
    """The registry's error message (`{"errors": [{"code", "message"}]}`), else the status."""
    from otter import jsoncodec
    try:
        body = resp.data if resp.data is not None else b""
    except Exception:  # noqa: BLE001 - a body that cannot be read still has a status line
        body = b""
    try:
        errors = jsoncodec.loads(body[:65536]).get("errors") or []
        parts = [f"{str(e.get('code', '')).lower().replace('_', ' ')}: {e.get('message', '')}".strip(": ")
                 for e in errors if isinstance(e, dict)]
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    return f"{resp.status} {resp.reason or ''}".strip()


def _retry_after(resp) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return min(float(value), MAX_RETRY_AFTER_S) if value else None
    except ValueError:
        return None


# -- the client ---------------------------------------------------------------------------

@record
class Fetched:
    """A manifest or index as the registry sent it."""

    data: bytes
    media_type: str
    digest: str


class Registry:
    """One registry, as seen by one command: a connection pool, the scheme and challenge
    learnt by the ping, and the token cache. Thread-safe: a pull's layer downloads share it.

    `actions` is what this client needs from repositories: "pull", or "pull,push" for a push
    (so the push's existence checks, uploads and manifest share one token)."""

    def __init__(self, host: str, opts: ClientOptions, insecure: bool = False, actions: str = "pull"):
        self.host = host
        self.api_host = DOCKER_HUB_API if host == "docker.io" else host
        self.opts = opts
        self.verify = opts.tls_verify if opts.tls_verify is not None else not insecure
        self.actions = actions
        self.base: str | None = None
        self.challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._creds: dict[str, Credentials | None] = {}
        self._lock = threading.Lock()
        self._pool = self._make_pool()

    def _make_pool(self):
        import urllib3
        if not self.verify:
            import warnings
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        ctx = _ssl_context(self.api_host, self.verify, self.opts.cert_dir)
        # Redirects are followed (blobs go to CDNs); nothing else is retried by urllib3: retries
        # are ours, so that a broken blob download resumes where it stopped.
        self._redirects = urllib3.Retry(total=10, connect=0, read=0, status=0, other=0, redirect=10,
                                        raise_on_redirect=True, raise_on_status=False)
        return urllib3.PoolManager(num_pools=8, maxsize=8, ssl_context=ctx,
                                   timeout=urllib3.Timeout(connect=30.0, read=120.0))

    def close(self) -> None:
        self._pool.clear()

    # -- retrying ---------------------------------------------------------------------------
    def retrying(self, fn: Callable[[], object], what: str):
        """Call `fn` until it does not raise TransientError, at most `retry` + 1 times."""
        attempt = 0
        while True:
            try:
                return fn()
            except TransientError as e:
                attempt += 1
                if attempt > self.opts.retry:
                    raise
                self.pause(attempt, e, what)

    def pause(self, attempt: int, err: BaseException, what: str) -> None:
        """Wait before attempt `attempt` + 1 (what a 429's Retry-After asks, if longer)."""
        delay = self.opts.retry_delay if self.opts.retry_delay is not None else float(2 ** (attempt - 1))
        delay = max(delay, getattr(err, "retry_after", None) or 0.0)
        log.warning(f"Failed, retrying in {delay:g}s ... ({attempt}/{self.opts.retry}). Error: {err}")
        time.sleep(delay)

    # -- transport ------------------------------------------------------------------------------
    def _send(self, method: str, url: str, headers: dict, body=None, stream: bool = False, what: str = ""):
        from urllib3.exceptions import HTTPError
        log.debug(f"{method} {_redact(url)}")
        headers = {"User-Agent": USER_AGENT, **headers}
        try:
            return self._pool.urlopen(method, url, headers=headers, body=body, preload_content=not stream,
                                      decode_content=False, redirect=True, retries=self._redirects,
                                      chunked=body is not None and not isinstance(body, (bytes, str))
                                      and "Content-Length" not in headers)
        except HTTPError as e:
            raise _transport_error(e, what) from None
        except OSError as e:
            raise TransientError(f"{what}: {_reason(e)}") from None

    def ping(self) -> None:
        """Learn the scheme and the challenge (once; later calls return at once)."""
        with self._lock:
            if self.base is None:
                self.retrying(self._ping, f"pinging container registry {self.host}")

    def _ping(self) -> None:
        what = f"pinging container registry {self.host}"
        schemes = ["https"] if self.verify else ["https", "http"]
        for scheme in schemes:
            try:
                resp = self._send("GET", f"{scheme}://{self.api_host}/v2/", {}, what=what)
            except RegistryError:
                if scheme == schemes[-1]:
                    raise
                continue
            self._check_ping(resp, what)
            self.base = f"{scheme}://{self.api_host}"
            return

    def _check_ping(self, resp, what: str) -> None:
        if resp.status == 401:
            self.challenge = _pick_challenge(resp.headers.get("WWW-Authenticate"), what)
        elif resp.status == 429 or resp.status >= 500:
            raise TransientError(f"{what}: {_error_text(resp)}", _retry_after(resp))
        elif resp.status == 404:
            raise RegistryError(f"{what}: {self.host} does not serve the registry API (GET /v2/ returned 404)")
        elif resp.status >= 400:
            raise RegistryError(f"{what}: {_error_text(resp)}")

    # -- authentication -------------------------------------------------------------------------
    def credentials(self, repository: str) -> Credentials | None:
        if self.opts.creds is not None:
            return self.opts.creds
        if repository not in self._creds:
            from otter.image import auth
            self._creds[repository] = auth.lookup(f"{self.host}/{repository}" if repository else self.host,
                                                  self.opts.authfile)
        return self._creds[repository]

    def _authorization(self, scopes: tuple[str, ...], what: str) -> str | None:
        c = self.challenge
        if c is None:
            return None
        repository = scopes[0].split(":")[1] if scopes else ""
        creds = self.credentials(repository)
        if c.scheme == "basic":
            return creds.basic() if creds else None
        key = tuple(sorted(scopes))
        with self._lock:
            token, expiry = self._tokens.get(key, ("", 0.0))
            if not token or time.monotonic() >= expiry:
                token, lifetime = self.retrying(lambda: self._fetch_token(c, scopes, creds, what), what)
                self._tokens[key] = (token, time.monotonic() + max(lifetime - 10, 1))
        return f"Bearer {token}"

    def _fetch_token(self, c: Challenge, scopes: tuple[str, ...], creds: Credentials | None,
                     what: str) -> tuple[str, float]:
        """A bearer token for `scopes`: OAuth2 refresh-token grant with an identity token,
        else a GET with Basic credentials (or anonymous)."""
        from urllib.parse import urlencode

        from otter import jsoncodec
        realm = c.params["realm"]
        query = [("service", c.params["service"])] if c.params.get("service") else []
        query += [("scope", s) for s in scopes]
        if creds is not None and creds.identity_token:
            form = urlencode(query + [("grant_type", "refresh_token"), ("refresh_token", creds.identity_token),
                                      ("client_id", "otter")])
            resp = self._send("POST", realm, {"Content-Type": "application/x-www-form-urlencoded"}, form.encode(),
                              what=what)
        else:
            headers = {"Authorization": creds.basic()} if creds is not None and creds.username else {}
            if creds is not None and creds.username:
                query.append(("account", creds.username))
            resp = self._send("GET", realm + ("&" if "?" in realm else "?") + urlencode(query), headers, what=what)
        if resp.status in (401, 403):
            if creds is not None:
                raise Unauthorized(f"{what}: invalid username/password")
            raise Unauthorized(f"{what}: authentication required")
        if resp.status == 429 or resp.status >= 500:
            raise TransientError(f"{what}: token server: {_error_text(resp)}", _retry_after(resp))
        if resp.status != 200:
            raise RegistryError(f"{what}: token server: {_error_text(resp)}")
        try:
            doc = jsoncodec.loads(resp.data)
            token = doc.get("token") or doc.get("access_token")
            lifetime = float(doc.get("expires_in") or TOKEN_LIFETIME_S)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, 0.0
        if not token or not isinstance(token, str):
            raise RegistryError(f"{what}: the token server's answer holds no token")
        return token, lifetime

    def check_login(self, what: str) -> None:
        """Prove the credentials work (what `login` does before storing them)."""
        self.ping()
        creds = self.credentials("")
        if self.challenge is None:
            return
        if creds is None:
            raise Unauthorized(f"{what}: authentication required")
        if self.challenge.scheme == "bearer":
            self.retrying(lambda: self._fetch_token(self.challenge, (), creds, what), what)  # type: ignore[arg-type]
            return
        resp = self.retrying(lambda: self._send("GET", f"{self.base}/v2/", {"Authorization": creds.basic()},
                                                what=what), what)
        if resp.status == 401:
            raise Unauthorized(f"{what}: invalid username/password")
        self._check_ping(resp, what)

    # -- requests -------------------------------------------------------------------------------
    def request(self, method: str, path: str, scopes: tuple[str, ...], what: str, *, headers: dict | None = None,
                body=None, stream: bool = False, ok: tuple[int, ...] = (200,), strategy: bool = False):
        """One authenticated request (no retries: see `retrying`). `path` is a path under the
        registry (`/v2/...`) or an absolute URL (an upload location). Returns the response
        when its status is in `ok`; raises otherwise (TransientError for 429/5xx; with
        `strategy`, an upload strategy's request, _Unsupported for UPLOAD_UNSUPPORTED)."""
        self.ping()
        url = path if path.startswith(("http://", "https://")) else self.base + path  # type: ignore[operator]
        replayable = body is None or isinstance(body, bytes)
        for first in (True, False):
            hdrs = dict(headers or {})
            authorization = self._authorization(scopes, what)
            if authorization:
                hdrs["Authorization"] = authorization
            resp = self._send(method, url, hdrs, body, stream, what)
            if resp.status == 401 and first and (authorization is None or authorization.startswith("Bearer ")):
                # No credentials were sent yet (the ping needed none), or the token expired or
                # lacks a scope: take the new challenge, forget the token and ask again, once.
                fresh = _pick_challenge(resp.headers.get("WWW-Authenticate"), what)
                with self._lock:
                    self._tokens.pop(tuple(sorted(scopes)), None)
                    self.challenge = fresh
                resp.drain_conn()
                if not replayable:
                    raise TransientError(f"{what}: the registry refused the token during the upload")
                continue
            break
        if resp.status in ok:
            return resp
        if resp.status == 429 or resp.status >= 500:
            raise TransientError(f"{what}: {_error_text(resp)}", _retry_after(resp))
        if resp.status == 401:
            if authorization is not None and authorization.startswith("Basic "):
                raise Unauthorized(f"{what}: invalid username/password")
            detail = _error_text(resp)
            creds = self.credentials(scopes[0].split(":")[1] if scopes else "")
            raise Unauthorized(f"{what}: {detail if 'unauthorized' in detail else 'unauthorized: ' + detail}"
                               + ("" if creds else " (no credentials: use login or --creds)"))
        if resp.status == 403:
            raise Unauthorized(f"{what}: {_error_text(resp)}")
        if strategy and resp.status in UPLOAD_UNSUPPORTED:
            raise _Unsupported(f"{what}: {_error_text(resp)}")
        raise RegistryError(f"{what}: {_error_text(resp)}")

    def _scopes(self, repository: str) -> tuple[str, ...]:
        return (_scope(repository, self.actions),)

    # -- manifests --------------------------------------------------------------------------------
    def get_manifest(self, repository: str, reference: str) -> Fetched:
        """The manifest or index `reference` (a tag or a digest), verified against the digest
        asked for, or else against the `Docker-Content-Digest` the registry states."""
        what = f"reading manifest {reference} in {self.host}/{repository}"

        def fetch():
            resp = self.request("GET", f"/v2/{repository}/manifests/{reference}", self._scopes(repository), what,
                                headers={"Accept": ACCEPT_MANIFESTS}, stream=True)
            try:
                data = _read_limited(resp, MANIFEST_LIMIT, what)
            finally:
                resp.release_conn()
            return resp, data

        resp, data = self.retrying(fetch, what)
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        expected = reference if reference.startswith("sha256:") else resp.headers.get("Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != actual:
            raise CorruptContent(f"{what}: the manifest does not match its digest: expected {expected}, got {actual}")
        return Fetched(data, _media_type(resp.headers.get("Content-Type"), data, what), actual)

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest of manifest `reference` by a HEAD request; None when the registry has no
        such manifest or does not say."""
        what = f"checking manifest {reference} in {self.host}/{repository}"
        resp = self.retrying(lambda: self.request("HEAD", f"/v2/{repository}/manifests/{reference}",
                                                  self._scopes(repository), what,
                                                  headers={"Accept": ACCEPT_MANIFESTS}, ok=(200, 404)), what)
        return resp.headers.get("Docker-Content-Digest") if resp.status == 200 else None

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        what = f"writing manifest to {self.host}/{repository}:{reference}"
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = self.retrying(lambda: self.request("PUT", f"/v2/{repository}/manifests/{reference}",
                                                  self._scopes(repository), what, body=data,
                                                  headers={"Content-Type": media_type}, ok=(200, 201, 202)), what)
        stated = resp.headers.get("Docker-Content-Digest")
        if stated and stated != digest:
            raise RegistryError(f"{what}: the registry stored the manifest as {stated}, expected {digest}")
        return digest

    def list_tags(self, repository: str) -> list[str]:
        from otter import jsoncodec
        what = f"listing tags of {self.host}/{repository}"
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        while path:
            resp = self.retrying(lambda p=path: self.request("GET", p, self._scopes(repository), what), what)
            try:
                tags += [t for t in jsoncodec.loads(resp.data).get("tags") or [] if isinstance(t, str)]
            except (ValueError, AttributeError):
                raise RegistryError(f"{what}: the answer is not a tag list") from None
            m = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", resp.headers.get("Link", ""))
            path = m.group(1) if m else None
        return tags

    # -- blobs ----------------------------------------------------------------------------------
    def get_blob_bytes(self, repository: str, desc: oci.Descriptor, limit: int = CONFIG_LIMIT) -> bytes:
        """A small blob (an image config) read whole and verified."""
        if desc.size > limit:
            raise CorruptContent(f"blob {desc.digest} is implausibly large ({desc.size} bytes)")
        reader = self.open_blob(repository, desc.digest, desc.size)
        try:
            data = b"".join(iter(lambda: reader.read(READ_CHUNK), b""))
        finally:
            reader.close()
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != desc.digest:
            raise CorruptContent(f"blob {desc.digest} from {self.host}/{repository} does not match its digest: "
                                 f"got {actual}")
        return data

    def open_blob(self, repository: str, digest: str, size: int) -> BlobReader:
        return BlobReader(self, repository, digest, size)

    def blob_exists(self, repository: str, digest: str) -> bool:
        what = f"checking blob {digest} in {self.host}/{repository}"
        resp = self.retrying(lambda: self.request("HEAD", f"/v2/{repository}/blobs/{digest}",
                                                  self._scopes(repository), what, ok=(200, 404)), what)
        return resp.status == 200

    def upload_blob(self, repository: str, chunks: Callable[[], Iterable[bytes]], digest: str | None = None,
                    size: int | None = None) -> tuple[str, int]:
        """Upload the blob that `chunks()` yields; returns its (digest, size). `chunks` is
        called again for every attempt. With `digest` and `size` the bytes go in one PUT;
        without (bytes made on the fly) they are streamed and hashed on the way."""
        what = f"uploading blob {digest + ' ' if digest else ''}to {self.host}/{repository}"

        def attempt() -> tuple[str, int]:
            location = self._start_upload(repository, what)
            try:
                if digest is not None and size is not None:
                    return self._put_whole(repository, location, chunks(), digest, size, what)
                return self._patch_stream(repository, location, chunks(), what)
            except _Unsupported as e:
                log.debug(f"{e}: uploading again in {UPLOAD_CHUNK}-byte chunks")
                return self._patch_chunks(repository, self._start_upload(repository, what), chunks(), what)

        return self.retrying(attempt, what)

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Ask the registry to link blob `digest` from repository `source`; False when it
        cannot (it does not hold the blob there, or does not mount)."""
        from urllib.parse import quote
        what = f"mounting blob {digest} from {source} into {self.host}/{repository}"
        scopes = self._scopes(repository) + (_scope(source, "pull"),)
        resp = self.retrying(lambda: self.request(
            "POST", f"/v2/{repository}/blobs/uploads/?mount={quote(digest)}&from={quote(source)}", scopes, what,
            headers={"Content-Length": "0"}, body=b"", ok=(201, 202)), what)
        if resp.status == 202:
            # Not mounted: the registry opened an upload session instead. Close it (best effort).
            location = resp.headers.get("Location")
            if location:
                try:
                    self.request("DELETE", self._absolute(location), self._scopes(repository), what,
                                 ok=(200, 202, 204, 404))
                except RegistryError:
                    pass
        return resp.status == 201

    def _absolute(self, location: str) -> str:
        from urllib.parse import urljoin
        return urljoin(self.base + "/", location)  # type: ignore[operator]

    def _start_upload(self, repository: str, what: str) -> str:
        resp = self.request("POST", f"/v2/{repository}/blobs/uploads/", self._scopes(repository), what, ok=(202,),
                            headers={"Content-Length": "0"}, body=b"")
        location = resp.headers.get("Location")
        if not location:
            raise RegistryError(f"{what}: the registry opened an upload without a Location")
        return self._absolute(location)

    @staticmethod
    def _with_digest(location: str, digest: str) -> str:
        from urllib.parse import quote
        return location + ("&" if "?" in location else "?") + "digest=" + quote(digest)

    def _finish(self, repository: str, location: str, digest: str, what: str) -> None:
        self.request("PUT", self._with_digest(location, digest), self._scopes(repository), what, ok=(201, 204),
                     headers={"Content-Length": "0"}, body=b"")

    def _put_whole(self, repository: str, location: str, chunks: Iterable[bytes], digest: str, size: int,
                   what: str) -> tuple[str, int]:
        self.request("PUT", self._with_digest(location, digest), self._scopes(repository), what, ok=(201, 204),
                     headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                     body=iter(chunks), strategy=True)
        return digest, size

    def _patch_stream(self, repository: str, location: str, chunks: Iterable[bytes], what: str) -> tuple[str, int]:
        counted = _Counting(chunks)
        resp = self.request("PATCH", location, self._scopes(repository), what, ok=(202, 204),
                            headers={"Content-Type": "application/octet-stream"}, body=iter(counted), strategy=True)
        location = self._absolute(resp.headers.get("Location") or location)
        self._finish(repository, location, counted.digest, what)
        return counted.digest, counted.size

    def _patch_chunks(self, repository: str, location: str, chunks: Iterable[bytes], what: str) -> tuple[str, int]:
        counted = _Counting(chunks)
        offset = 0
        for piece in _rechunk(counted, UPLOAD_CHUNK):
            resp = self.request("PATCH", location, self._scopes(repository), what, ok=(202, 204), body=piece,
                                headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(piece)),
                                         "Content-Range": f"{offset}-{offset + len(piece) - 1}"})
            location = self._absolute(resp.headers.get("Location") or location)
            offset += len(piece)
        self._finish(repository, location, counted.digest, what)
        return counted.digest, counted.size


def _read_limited(resp, limit: int, what: str) -> bytes:
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        raise CorruptContent(f"{what}: the manifest is implausibly large ({length} bytes)")
    try:
        data = resp.read(limit + 1)
    except Exception as e:  # noqa: BLE001 - urllib3 raises several unrelated types for a broken body
        raise _transport_error(e, what) from None
    if len(data) > limit:
        raise CorruptContent(f"{what}: the manifest is implausibly large (over {limit} bytes)")
    return data


def _media_type(header: str | None, data: bytes, what: str) -> str:
    from otter.spec.wire import load_object
    media_type = (header or "").split(";", 1)[0].strip()
    if media_type in oci.MANIFEST_TYPES or media_type in oci.INDEX_TYPES:
        return media_type
    doc = load_object(data, f"{what}: the manifest")
    if doc.get("schemaVersion") == 1:
        raise RegistryError(f"{what}: Docker schema 1 manifests are not supported")
    if doc.get("mediaType") in oci.MANIFEST_TYPES + oci.INDEX_TYPES:
        return doc["mediaType"]
    if "manifests" in doc:
        return oci.OCI_INDEX
    if "config" in doc and "layers" in doc:
        return oci.OCI_MANIFEST
    raise RegistryError(f"{what}: unsupported manifest type {media_type or 'unknown'!r}")


class _Counting:
    """Iterates over `chunks`, hashing and counting what passes."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = chunks
        self._hash = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.size += len(chunk)
            yield chunk

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


class BlobReader:
    """A blob download as a stream: `read(n)` returns up to n bytes, b"" at the end.

    A broken connection, or a body that ends before `size` bytes, is resumed from where it
    stopped with `Range: bytes=OFFSET-`, up to `retry` times; a registry that ignores the
    Range header sends the whole blob again and the bytes already read are skipped. More
    bytes than `size` is an error at once. The digest is the caller's to check (it hashes
    the bytes anyway, as it stores them)."""

    def __init__(self, registry: Registry, repository: str, digest: str, size: int):
        self.registry = registry
        self.repository = repository
        self.digest = digest
        self.size = size
        self.offset = 0
        self._resp = None
        self._failures = 0
        self._what = f"fetching blob {digest} from {registry.host}/{repository}"

    def _open(self):
        headers = {"Range": f"bytes={self.offset}-"} if self.offset else {}
        resp = self.registry.request("GET", f"/v2/{self.repository}/blobs/{self.digest}",
                                     self.registry._scopes(self.repository), self._what, headers=headers,
                                     stream=True, ok=(200, 206))
        skip = self.offset
        if resp.status == 206:
            m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
            start = int(m.group(1)) if m else 0
            if start > self.offset:
                resp.release_conn()
                raise TransientError(f"{self._what}: the registry resumed at byte {start}, not {self.offset}")
            skip = self.offset - start
        while skip:
            data = resp.read(min(skip, READ_CHUNK))
            if not data:
                raise TransientError(f"{self._what}: the connection ended while resuming")
            skip -= len(data)
        return resp

    def read(self, n: int) -> bytes:
        from urllib3.exceptions import HTTPError
        while True:
            if self._resp is None:
                self._resp = self.registry.retrying(self._open, self._what)
            try:
                data = self._resp.read(n)
            except (HTTPError, OSError) as e:
                self._broken(_transport_error(e, self._what))
                continue
            if data:
                self.offset += len(data)
                if self.offset > self.size:
                    raise CorruptContent(f"{self._what}: the blob is larger than the {self.size} bytes its "
                                         "descriptor states")
                return data
            if self.offset < self.size:
                self._broken(CorruptContent(f"{self._what}: the blob is truncated: got {self.offset} of "
                                            f"{self.size} bytes"))
                continue
            return b""

    def _broken(self, err: RegistryError | CorruptContent) -> None:
        self.close()
        self._failures += 1
        if self._failures > self.registry.opts.retry:
            raise err
        self.registry.pause(self._failures, err, self._what)

    def close(self) -> None:
        if self._resp is not None:
            self._resp.release_conn()
            self._resp = None
