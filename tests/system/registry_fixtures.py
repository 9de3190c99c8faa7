"""Registries for the registry tests, all on 127.0.0.1 and all started and stopped by the tests.

  DistributionRegistry  Debian's `docker-registry` (the CNCF distribution registry), storage in
                        the test's temporary directory, optionally with htpasswd (Basic) auth,
                        token (Bearer) auth or TLS with a certificate made by the test.
  TokenServer           the token endpoint a registry with token auth sends clients to: checks
                        Basic credentials and issues RS256 JWTs the registry verifies (signed with
                        `openssl dgst`, as the standard library has no RSA).
  LyingRegistry         a small http.server that serves whatever bytes a test gives it for a
                        path: manifests and blobs that do not match their digests, short bodies.

Fixtures are imported by the test module (`from tests.system.registry_fixtures import *`).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import tarfile
import threading
import time

import pytest

__all__ = ["auth_registry", "lying_registry", "registry", "tls_registry", "token_registry"]

REGISTRY_BINARY = "/usr/bin/docker-registry"
USER, PASSWORD = "otter-user", "s3cret-Pa55"
START_TIMEOUT_S = 15


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, log: str | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = ""
            if log and os.path.exists(log):
                with open(log) as f:
                    text = f.read()
            raise RuntimeError(f"registry exited with {proc.returncode}: {text[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {START_TIMEOUT_S}s")


def make_cert(directory: str, name: str = "server") -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (and localhost); returns (cert, key) paths."""
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry tokens to USER/PASSWORD (any scope asked for) and empty ones to anonymous
    clients; counts the token requests, so tests can prove tokens are reused."""

    ISSUER = "otter-test-issuer"
    SERVICE = "otter-test-registry"

    def __init__(self, directory: str):
        self.cert, self.key = make_cert(directory, "token")
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlparse
                query = parse_qs(urlparse(self.path).query)
                auth = self.headers.get("Authorization", "")
                user = None
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if (u, p) != (USER, PASSWORD):
                        self.send_response(401)
                        self.end_headers()
                        return
                    user = u
                server.requests.append({"user": user, "scope": query.get("scope", [])})
                body = json.dumps({"token": server.token(user, query.get("scope", [])), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, user: str | None, scopes: list[str]) -> str:
        access = []
        if user is not None:
            for scope in scopes:
                kind, name, actions = scope.split(":")[0], ":".join(scope.split(":")[1:-1]), scope.split(":")[-1]
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.ISSUER, "sub": user or "", "aud": self.SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input.encode(),
                                   check=True, capture_output=True).stdout
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class DistributionRegistry:
    def __init__(self, directory: str, htpasswd: bool = False, tls: bool = False, token: TokenServer | None = None):
        self.dir = directory
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.data = os.path.join(directory, "data")
        self.log = os.path.join(directory, "registry.log")
        self.cert = self.key = None
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true", "storage:",
                 "  filesystem:", f"    rootdirectory: {self.data}", "  delete:", "    enabled: true",
                 "http:", f"  addr: 127.0.0.1:{self.port}", "  secret: otter-test-secret"]
        if tls:
            self.cert, self.key = make_cert(directory)
            lines += ["  tls:", f"    certificate: {self.cert}", f"    key: {self.key}"]
        if htpasswd:
            path = os.path.join(directory, "htpasswd")
            subprocess.run(["htpasswd", "-Bbc", path, USER, PASSWORD], check=True, capture_output=True)
            lines += ["auth:", "  htpasswd:", "    realm: otter-test", f"    path: {path}"]
        if token is not None:
            lines += ["auth:", "  token:", f"    realm: {token.realm}", f"    service: {token.SERVICE}",
                      f"    issuer: {token.ISSUER}", f"    rootcertbundle: {token.cert}"]
        self.config = os.path.join(directory, "config.yml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> DistributionRegistry:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([REGISTRY_BINARY, "serve", self.config], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stored_bytes(self) -> int:
        blobs = os.path.join(self.data, "docker", "registry", "v2", "blobs")
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(blobs) for f in files)

    def blob_files(self) -> dict[str, bytes]:
        """digest -> bytes of every blob the registry stores."""
        out = {}
        blobs = os.path.join(self.data, "docker", "registry", "v2", "blobs", "sha256")
        for d, _, files in os.walk(blobs):
            if "data" in files:
                with open(os.path.join(d, "data"), "rb") as f:
                    out["sha256:" + os.path.basename(d)] = f.read()
        return out

    def url(self, path: str) -> str:
        return f"{'https' if self.cert else 'http'}://{self.host}{path}"

    def put_manifest(self, repo: str, reference: str, doc: dict, media_type: str) -> str:
        """PUT a manifest or index directly (what a multi-arch publisher does); returns its digest."""
        import urllib.request
        data = json.dumps(doc).encode()
        req = urllib.request.Request(self.url(f"/v2/{repo}/manifests/{reference}"), data=data, method="PUT",
                                     headers={"Content-Type": media_type})
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 201
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str]:
        import urllib.request
        accept = ("application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json")
        req = urllib.request.Request(self.url(f"/v2/{repo}/manifests/{reference}"), headers={"Accept": accept})
        with urllib.request.urlopen(req) as resp:
            return resp.read(), resp.headers["Content-Type"]


# -- a registry that lies -----------------------------------------------------------------------

def tiny_image(text: bytes = b"hello from a tiny image\n") -> dict:
    """A one-layer image (gzip layer with /hello.txt): its blobs by digest, its config and manifest."""
    import gzip
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("hello.txt")
        ti.size, ti.mode, ti.mtime = len(text), 0o644, 1700000000
        tf.addfile(ti, io.BytesIO(text))
    layer_tar = buf.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    digest = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(layer),
                    "size": len(layer)}]}).encode()
    return {"layer": layer, "layer_digest": digest(layer), "config": config, "config_digest": digest(config),
            "manifest": manifest, "manifest_digest": digest(manifest)}


NOT_FOUND = (404, {}, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')


class LyingRegistry:
    """Serves `routes`: path -> (status, headers, body), or path -> a function that answers the
    request itself (given the BaseHTTPRequestHandler). `/v2/` answers 200. Requests are logged."""

    def __init__(self):
        self.routes: dict[str, object] = {"/v2/": (200, {}, b"{}")}
        self.requests: list[tuple[str, str]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, with_body: bool):
                owner.requests.append((self.command, self.path))
                route = owner.routes.get(self.path.split("?")[0], NOT_FOUND)
                if callable(route):
                    route(self)
                    return
                status, headers, body = route
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

            do_POST = do_PUT = do_PATCH = do_GET

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve_image(self, repo: str, image: dict, layer_body: bytes | None = None,
                    layer_headers: dict | None = None, manifest_digest_header: str | None = None) -> None:
        """Serve `image` as repo:latest; the layer blob's bytes and headers may be replaced by lies."""
        mt = "application/vnd.oci.image.manifest.v1+json"
        self.routes[f"/v2/{repo}/manifests/latest"] = (200, {
            "Content-Type": mt, "Docker-Content-Digest": manifest_digest_header or image["manifest_digest"]},
            image["manifest"])
        self.routes[f"/v2/{repo}/manifests/{image['manifest_digest']}"] = (200, {"Content-Type": mt},
                                                                          image["manifest"])
        self.routes[f"/v2/{repo}/blobs/{image['config_digest']}"] = (200, {}, image["config"])
        self.routes[f"/v2/{repo}/blobs/{image['layer_digest']}"] = (200, layer_headers or {},
                                                                    image["layer"] if layer_body is None else layer_body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def request_body(handler) -> bytes:
    """The body of a request, with Content-Length or chunked transfer encoding."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


class PickyUploads:
    """Blob uploads the way some registries (and proxies) take them: only in Content-Range
    PATCH chunks, refusing a one-piece PUT (413) and a chunked-encoding stream (411). Manifests
    are accepted. `blobs` holds what was stored, by digest."""

    def __init__(self, reg: LyingRegistry, repo: str):
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, bytes] = {}
        self.sessions: dict[str, bytearray] = {}
        self.repo = repo
        reg.routes[f"/v2/{repo}/blobs/uploads/"] = self.start
        self.reg = reg

    def _reply(self, handler, status: int, headers: dict | None = None) -> None:
        handler.send_response(status)
        for k, v in {"Content-Length": "0", **(headers or {})}.items():
            handler.send_header(k, v)
        handler.end_headers()

    def start(self, handler) -> None:
        request_body(handler)
        session = f"/upload/{len(self.sessions)}"
        self.sessions[session] = bytearray()
        self.reg.routes[session] = self.session
        self._reply(handler, 202, {"Location": session})

    def session(self, handler) -> None:
        from urllib.parse import parse_qs, urlparse
        body = request_body(handler)
        path = urlparse(handler.path)
        data = self.sessions[path.path]
        if handler.command == "PATCH":
            if "Content-Range" not in handler.headers:
                self._reply(handler, 411)
                return
            data += body
            self._reply(handler, 202, {"Location": path.path})
            return
        if body:                                          # a one-piece PUT
            self._reply(handler, 413)
            return
        digest = parse_qs(path.query)["digest"][0]
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            self._reply(handler, 400)
            return
        self.blobs[digest] = bytes(data)
        self._reply(handler, 201, {"Docker-Content-Digest": digest})

    def manifest(self, handler) -> None:
        body = request_body(handler)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.manifests[digest] = body
        self._reply(handler, 201, {"Docker-Content-Digest": digest})


# -- fixtures -----------------------------------------------------------------------------------

def _started(tmp_path, name: str, **kw):
    d = tmp_path / name
    d.mkdir()
    return DistributionRegistry(str(d), **kw).start()


@pytest.fixture
def registry(tmp_path):
    """A plain-HTTP distribution registry without auth."""
    reg = _started(tmp_path, "registry")
    yield reg
    reg.stop()


@pytest.fixture
def auth_registry(tmp_path):
    """A plain-HTTP registry with htpasswd (Basic) auth: USER / PASSWORD."""
    reg = _started(tmp_path, "auth-registry", htpasswd=True)
    yield reg
    reg.stop()


@pytest.fixture
def token_registry(tmp_path):
    """A plain-HTTP registry with token (Bearer) auth; `.tokens` is its TokenServer."""
    d = tmp_path / "token-server"
    d.mkdir()
    tokens = TokenServer(str(d))
    reg = _started(tmp_path, "token-registry", token=tokens)
    reg.tokens = tokens
    yield reg
    reg.stop()
    tokens.stop()


@pytest.fixture
def tls_registry(tmp_path):
    """An HTTPS registry with a self-signed certificate (`.cert`)."""
    reg = _started(tmp_path, "tls-registry", tls=True)
    yield reg
    reg.stop()


@pytest.fixture
def lying_registry():
    reg = LyingRegistry()
    yield reg
    reg.stop()
