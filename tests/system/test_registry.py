"""pull, push, login and logout against real registries on 127.0.0.1 (registry_fixtures)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from tests.conftest import BUSYBOX_ARCHIVE, BUSYBOX_ROOTFS, store_files
from tests.system.registry_fixtures import *  # the fixtures, used by name
from tests.system.registry_fixtures import PASSWORD, USER, free_port, tiny_image

HEX64 = re.compile(r"^[0-9a-f]{64}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
NO_TLS = "--tls-verify=false"
FAST_RETRY = ("--retry", "1", "--retry-delay", "10ms")

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"), reason="docker-registry not installed")


def image_id(engine, name: str) -> str:
    return engine.run("image", "inspect", "--format", "{{.Id}}", name).out.strip()


def one_error(proc, *fragments: str) -> None:
    """The failure is one `Error: ...` line holding each fragment, and exit 125."""
    assert proc.returncode == 125, proc.err
    errors = [line for line in proc.err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and proc.err.rstrip("\n").endswith(errors[0]), proc.err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def push(engine, registry, dest: str, *flags: str, image: str = "localhost/busybox:latest", expect=0):
    return engine.run("push", NO_TLS, *flags, image, f"{registry.host}/{dest}", expect=expect)


# -- push, pull, run ----------------------------------------------------------------------------

def test_push_rmi_pull_run(bb, registry):
    iid = image_id(bb, "localhost/busybox:latest")
    pushed = push(bb, registry, "team/busybox:1.0")
    digest = pushed.out.strip()
    assert DIGEST.match(digest)
    assert "Writing manifest to image destination" in pushed.err
    bb.run("rmi", "localhost/busybox:latest")
    pulled = bb.run("pull", NO_TLS, f"{registry.host}/team/busybox:1.0")
    assert pulled.out.strip() == iid, "the image ID (config digest) survives the round trip"
    assert f"Trying to pull {registry.host}/team/busybox:1.0..." in pulled.err
    assert bb.run("run", "--rm", f"{registry.host}/team/busybox:1.0", "echo", "pulled").out == "pulled\n"
    doc = json.loads(bb.run("image", "inspect", f"{registry.host}/team/busybox:1.0").out)[0]
    assert doc["Digest"] == digest
    assert doc["RepoDigests"] == [f"{registry.host}/team/busybox@{digest}"]
    # The registry holds gzip layers, so the push compressed the uncompressed stored layer.
    manifest, _ = registry.get_manifest("team/busybox", "1.0")
    assert all(layer["mediaType"].endswith("gzip") for layer in json.loads(manifest)["layers"])
    assert registry.stored_bytes() < os.path.getsize(BUSYBOX_ARCHIVE)


def test_image_pull_push_subcommands_and_quiet(bb, registry):
    assert bb.run("image", "push", "-q", NO_TLS, "localhost/busybox", f"{registry.host}/bb").err == ""
    quiet = bb.run("image", "pull", "-q", NO_TLS, f"{registry.host}/bb")
    assert HEX64.match(quiet.out.strip()) and quiet.err == ""


def test_push_skips_existing_blobs_and_mounts(bb, registry, tmp_path):
    push(bb, registry, "a/bb:1")
    again = push(bb, registry, "a/bb:2", "--digestfile", str(tmp_path / "digest"))
    assert again.err.count("skipped: already exists") == 2, again.err          # one layer and the config
    assert (tmp_path / "digest").read_text() == again.out.strip()
    other = push(bb, registry, "b/bb:1")
    assert other.err.count("skipped: mounted from a/bb") == 2, other.err
    assert other.out == again.out, "the same image pushes to the same manifest digest"


def test_pull_skips_present_layers(bb, registry):
    push(bb, registry, "bb:1")
    first = bb.run("pull", NO_TLS, f"{registry.host}/bb:1")
    assert "skipped" not in first.err                 # the stored blob was uncompressed: the gzip one is new
    second = bb.run("pull", NO_TLS, f"{registry.host}/bb:1")
    assert "skipped: already exists" in second.err and second.out == first.out


def test_pull_by_digest(bb, registry):
    digest = push(bb, registry, "bydigest:1").out.strip()
    bb.run("rmi", "-a", "-f")
    ref = f"{registry.host}/bydigest@{digest}"
    bb.run("pull", NO_TLS, ref)
    assert bb.run("run", "--rm", "--pull=never", ref, "echo", "by digest").out == "by digest\n"
    rows = bb.run("images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").out.splitlines()
    assert rows == [f"{registry.host}/bydigest <none> {digest}"]


def test_all_tags(bb, registry):
    for tag in ("1", "2", "3"):
        push(bb, registry, f"many:{tag}")
    bb.run("import", BUSYBOX_ROOTFS, "localhost/other:latest")
    push(bb, registry, "many:other", image="localhost/other:latest")
    bb.run("rmi", "-a", "-f")
    out = bb.run("pull", "--all-tags", NO_TLS, f"{registry.host}/many").out.split()
    assert len(out) == 4 and len(set(out)) == 2
    names = sorted(bb.run("images", "--format", "{{.Repository}}:{{.Tag}}").out.split())
    assert names == [f"{registry.host}/many:{t}" for t in ("1", "2", "3", "other")]
    one_error(bb.run("pull", "-a", NO_TLS, f"{registry.host}/many:1", expect=125), "--all-tags")


@pytest.mark.skipif(importlib.util.find_spec("zstandard") is None, reason="zstandard not installed")
def test_push_zstd(bb, registry):
    push(bb, registry, "zst:1", "--compression-format", "zstd")
    manifest, media_type = registry.get_manifest("zst", "1")
    doc = json.loads(manifest)
    assert media_type == "application/vnd.oci.image.manifest.v1+json"
    assert doc["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    bb.run("rmi", "-a", "-f")
    bb.run("pull", NO_TLS, f"{registry.host}/zst:1")
    assert bb.run("run", "--rm", f"{registry.host}/zst:1", "echo", "zstd").out == "zstd\n"


def test_push_bad_input(bb, registry):
    one_error(bb.run("push", NO_TLS, "localhost/nothere", f"{registry.host}/x", expect=125), "image not known")
    one_error(bb.run("push", NO_TLS, "localhost/busybox", f"{registry.host}/x", "--compression-format", "lz4",
                     expect=125), "lz4")
    one_error(bb.run("push", NO_TLS, "localhost/busybox", f"oci:{registry.host}/x", expect=125))
    one_error(bb.run("push", NO_TLS, "localhost/busybox", f"{registry.host}/x@sha256:" + "0" * 64, expect=125),
              "digest")
    iid = image_id(bb, "localhost/busybox")
    one_error(bb.run("push", NO_TLS, iid, expect=125), "destination")


def test_push_falls_back_to_chunked_uploads(bb, lying_registry):
    from tests.system.registry_fixtures import PickyUploads
    picky = PickyUploads(lying_registry, "picky")
    lying_registry.routes["/v2/picky/manifests/latest"] = picky.manifest
    digest = bb.run("push", NO_TLS, "localhost/busybox", f"{lying_registry.host}/picky").out.strip()
    manifest = json.loads(picky.manifests[digest])
    for d in [manifest["config"]] + manifest["layers"]:
        assert "sha256:" + hashlib.sha256(picky.blobs[d["digest"]]).hexdigest() == d["digest"]
        assert len(picky.blobs[d["digest"]]) == d["size"]
    methods = [m for m, p in lying_registry.requests if p.startswith("/upload/")]
    assert methods.count("PATCH") >= 3 and methods.count("PUT") >= 3      # refused tries, then chunks


# -- failures -----------------------------------------------------------------------------------

def test_tag_not_found(otter, registry):
    proc = otter.run("pull", NO_TLS, f"{registry.host}/nothing:nope", expect=125)
    one_error(proc, "reading manifest nope in", "manifest unknown")
    assert store_files(otter.root) == set()


def test_registry_down(otter):
    host = f"127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    proc = otter.run("pull", "--retry", "0", NO_TLS, f"{host}/x", expect=125)
    one_error(proc, f"pinging container registry {host}", "connection refused")
    assert time.monotonic() - t0 < 10
    retried = otter.run("pull", *FAST_RETRY, NO_TLS, f"{host}/x", expect=125)
    assert "retrying in" in retried.err and "(1/1)" in retried.err
    one_error(retried, "connection refused")


def test_blob_digest_mismatch_leaves_nothing(bb, lying_registry):
    image = tiny_image()
    lying = bytearray(image["layer"])
    lying[-20] ^= 0xFF                                    # same size, one byte changed
    lying_registry.serve_image("lies", image, layer_body=bytes(lying))
    before = store_files(bb.root)
    proc = bb.run("pull", NO_TLS, f"{lying_registry.host}/lies", expect=125)
    one_error(proc, f"blob {image['layer_digest']}", "does not match its digest")
    assert store_files(bb.root) == before
    assert not os.listdir(os.path.join(bb.root, "ingest"))


def test_manifest_digest_mismatch(otter, lying_registry):
    image = tiny_image()
    lying_registry.serve_image("lies", image, manifest_digest_header="sha256:" + "1" * 64)
    one_error(otter.run("pull", NO_TLS, f"{lying_registry.host}/lies", expect=125), "does not match its digest")
    other = tiny_image(b"other content\n")
    lying_registry.routes[f"/v2/lies/manifests/{image['manifest_digest']}"] = (200, {}, other["manifest"])
    one_error(otter.run("pull", NO_TLS, f"{lying_registry.host}/lies@{image['manifest_digest']}", expect=125),
              "does not match its digest")
    assert store_files(otter.root) == set()


def test_truncated_blob(otter, lying_registry):
    image = tiny_image()
    lying_registry.serve_image("short", image, layer_body=image["layer"][:-30])
    proc = otter.run("pull", *FAST_RETRY, NO_TLS, f"{lying_registry.host}/short", expect=125)
    one_error(proc, "truncated")
    assert "retrying" in proc.err
    assert store_files(otter.root) == set()
    ranged = [p for m, p in lying_registry.requests if m == "GET" and "/blobs/" + image["layer_digest"] in p]
    assert len(ranged) == 2, "the second attempt resumed the download"


def test_broken_download_resumes_with_range(otter, lying_registry):
    """A blob whose first answer breaks off half-way is completed by a Range request."""
    image = tiny_image()
    lying_registry.serve_image("resume", image)
    body = image["layer"]

    def answer(handler):
        rng = handler.headers.get("Range")
        if rng is None:                       # promise everything, send half, hang up
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[:len(body) // 2])
            handler.close_connection = True
            return
        start = int(rng.split("=")[1].rstrip("-"))
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        handler.send_header("Content-Length", str(len(body) - start))
        handler.end_headers()
        handler.wfile.write(body[start:])

    lying_registry.routes[f"/v2/resume/blobs/{image['layer_digest']}"] = answer
    assert HEX64.match(otter.run("pull", *FAST_RETRY, NO_TLS, f"{lying_registry.host}/resume").out.strip())
    gets = [p for m, p in lying_registry.requests if m == "GET" and image["layer_digest"] in p]
    assert len(gets) == 2


def test_manifest_list_platforms(bb, registry):
    push(bb, registry, "multi:amd64")
    manifest, media_type = registry.get_manifest("multi", "amd64")
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": media_type, "digest": digest, "size": len(manifest),
                            "platform": {"architecture": "s390x", "os": "linux"}}]}
    registry.put_manifest("multi", "list", index, "application/vnd.oci.image.index.v1+json")
    arch = bb.run("run", "--rm", "localhost/busybox", "uname", "-m").out.strip()
    if arch != "x86_64":
        pytest.skip("the index below names s390x and expects the host not to be s390x")
    before = store_files(bb.root)
    proc = bb.run("pull", NO_TLS, f"{registry.host}/multi:list", expect=125)
    one_error(proc, "no image found in manifest list for architecture amd64")
    assert store_files(bb.root) == before
    one_error(bb.run("pull", NO_TLS, "--platform", "linux/arm64", f"{registry.host}/multi:list", expect=125),
              "architecture arm64")
    bb.run("pull", NO_TLS, "--arch", "s390x", f"{registry.host}/multi:list")
    bb.run("pull", NO_TLS, "--platform", "linux/s390x", f"{registry.host}/multi:list")
    one_error(bb.run("pull", NO_TLS, "--platform", "linux", f"{registry.host}/multi:list", expect=125), "platform")


def test_malformed_www_authenticate(otter, lying_registry):
    lying_registry.routes["/v2/"] = (401, {"WWW-Authenticate": 'Bearer realm="http://127.0.0.1:1/token'}, b"")
    one_error(otter.run("pull", NO_TLS, f"{lying_registry.host}/x", expect=125), "malformed WWW-Authenticate")
    lying_registry.routes["/v2/"] = (401, {"WWW-Authenticate": 'Bearer service="x"'}, b"")
    one_error(otter.run("pull", NO_TLS, f"{lying_registry.host}/x", expect=125), "realm")


# -- authentication -----------------------------------------------------------------------------

def assert_no_secret(proc) -> None:
    for secret in (PASSWORD, "b3R0ZXIt"):                # the password, and base64 of "otter-"
        assert secret not in proc.out and secret not in proc.err


def test_basic_auth(bb, auth_registry, tmp_path):
    authfile = str(tmp_path / "auth.json")
    host = auth_registry.host
    one_error(push(bb, auth_registry, "sec/bb", expect=125), "authentication required")
    wrong = bb.run("--log-level", "debug", "push", NO_TLS, "--creds", f"{USER}:wrong-{PASSWORD}",
                   "localhost/busybox", f"{host}/sec/bb", expect=125)
    one_error(wrong, "invalid username/password")
    assert_no_secret(wrong)
    bad_login = bb.run("--log-level", "debug", "login", NO_TLS, "--authfile", authfile, "-u", USER, "-p",
                       "wrong" + PASSWORD, host, expect=125)
    one_error(bad_login, f'logging into "{host}": invalid username/password')
    assert_no_secret(bad_login)
    assert not os.path.exists(authfile)
    login = bb.run("--log-level", "debug", "login", NO_TLS, "--authfile", authfile, "-u", USER,
                   "--password-stdin", host, input=(PASSWORD + "\n").encode())
    assert login.out == "Login Succeeded!\n"
    assert_no_secret(login)
    assert stat.S_IMODE(os.stat(authfile).st_mode) == 0o600
    with open(authfile) as f:
        assert host in json.load(f)["auths"]
    assert bb.run("login", "--authfile", authfile, "--get-login", host).out == USER + "\n"
    pushed = bb.run("--log-level", "debug", "push", NO_TLS, "--authfile", authfile, "localhost/busybox",
                    f"{host}/sec/bb")
    assert_no_secret(pushed)
    assert bb.run("logout", "--authfile", authfile, host).out == f"Removed login credentials for {host}\n"
    one_error(bb.run("logout", "--authfile", authfile, host, expect=125), f"not logged into {host}")
    one_error(bb.run("login", "--authfile", authfile, "--get-login", host, expect=125), f"not logged into {host}")


def test_default_authfile_and_logout_all(bb, auth_registry, tmp_path, monkeypatch):
    # REGISTRY_AUTH_FILE moves the default authfile (${XDG_RUNTIME_DIR}/containers/auth.json, see
    # the unit tests) out of the user's real one; XDG_RUNTIME_DIR itself stays, as a rootless
    # otter keeps its pause process there.
    authfile = tmp_path / "default" / "auth.json"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(authfile))
    host = auth_registry.host
    bb.run("login", NO_TLS, "-u", USER, "-p", PASSWORD, host)
    assert host in json.loads(authfile.read_text())["auths"]
    again = bb.run("login", NO_TLS, host)
    assert "Already logged in" in again.out
    push(bb, auth_registry, "def/bb")
    assert bb.run("logout", "-a").out == "Removed login credentials for all registries\n"
    assert json.loads(authfile.read_text())["auths"] == {}


def test_docker_config_and_credential_helper(bb, auth_registry, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "absent-auth.json"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    host = auth_registry.host
    config = home / ".docker" / "config.json"
    import base64
    config.write_text(json.dumps({"auths": {f"http://{host}/": {
        "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
    push(bb, auth_registry, "docker/cfg")
    # A credential helper named in credHelpers wins over the auths entry.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-ottertest"
    helper.write_text("#!/bin/sh\nread server\n"
                      f"[ \"$server\" = \"{host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n"
                      f"echo '{{\"ServerURL\":\"{host}\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}'\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    config.write_text(json.dumps({"credHelpers": {host: "ottertest"}}))
    assert_no_secret(push(bb, auth_registry, "docker/helper"))
    config.write_text(json.dumps({"credHelpers": {host: "missing-helper"}}))
    one_error(push(bb, auth_registry, "docker/helper", expect=125), "docker-credential-missing-helper")


def test_token_auth_reuses_tokens(bb, token_registry):
    creds = ("--creds", f"{USER}:{PASSWORD}")
    one_error(push(bb, token_registry, "tok/bb", expect=125), "unauthorized")
    push(bb, token_registry, "tok/bb", *creds)
    bb.run("rmi", "-a", "-f")
    token_registry.tokens.requests.clear()
    bb.run("pull", NO_TLS, *creds, f"{token_registry.host}/tok/bb")
    assert token_registry.tokens.requests == [{"user": USER, "scope": ["repository:tok/bb:pull"]}]
    wrong = bb.run("--log-level", "debug", "pull", NO_TLS, "--creds", f"{USER}:x{PASSWORD}",
                   f"{token_registry.host}/tok/bb", expect=125)
    one_error(wrong, "invalid username/password")
    assert_no_secret(wrong)
    authfile = str(bb.root) + "-auth.json"
    bb.run("login", NO_TLS, "--authfile", authfile, "-u", USER, "-p", PASSWORD, token_registry.host)
    bb.run("pull", NO_TLS, "--authfile", authfile, f"{token_registry.host}/tok/bb")


# -- TLS ----------------------------------------------------------------------------------------

def test_tls(bb, tls_registry, tmp_path):
    host = tls_registry.host
    proc = bb.run("push", "localhost/busybox", f"{host}/tls/bb", expect=125)
    one_error(proc, "certificate verify failed", "--tls-verify=false")
    digest = bb.run("push", NO_TLS, "localhost/busybox", f"{host}/tls/bb").out.strip()
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(tls_registry.cert, certs / "ca.crt")
    bb.run("rmi", "-a", "-f")
    bb.run("pull", "--cert-dir", str(certs), f"{host}/tls/bb")
    assert bb.run("image", "inspect", "--format", "{{.Digest}}", f"{host}/tls/bb").out.strip() == digest
    one_error(bb.run("pull", "--cert-dir", str(tmp_path / "nowhere"), f"{host}/tls/bb", expect=125), "--cert-dir")


# -- registries configuration and run --pull ------------------------------------------------------

def write_conf(tmp_path, text: str) -> str:
    path = tmp_path / "registries.conf"
    path.write_text(text)
    return str(path)


def test_short_names_aliases_and_mirrors(bb, registry, tmp_path, monkeypatch):
    push(bb, registry, "library/shorty:1")
    conf = write_conf(tmp_path, f"""
unqualified-search-registries = ["{registry.host}", "quay.io"]
[[registry]]
location = "{registry.host}"
insecure = true
[[registry]]
prefix = "otter-mirror.invalid"
location = "otter-mirror.invalid"
[[registry.mirror]]
location = "{registry.host}"
insecure = true
[aliases]
"shorty" = "{registry.host}/library/shorty"
""")
    monkeypatch.setenv("OTTER_REGISTRIES_CONF", conf)
    one_error(bb.run("pull", "other:1", expect=125), 'short name "other:1" is ambiguous', registry.host, "quay.io")
    bb.run("pull", "shorty:1")                                     # the alias decides
    assert bb.run("image", "exists", f"{registry.host}/library/shorty:1", expect=0)
    bb.run("pull", "otter-mirror.invalid/library/shorty:1")        # only the mirror holds it
    assert "otter-mirror.invalid/library/shorty:1" in bb.run("images", "--format", "{{.Repository}}:{{.Tag}}").out
    permissive = write_conf(tmp_path, f'unqualified-search-registries = ["{registry.host}"]\n'
                                      f'[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n')
    bb.run("pull", "--registries-conf", permissive, "library/shorty:1")
    one_error(bb.run("pull", "--registries-conf", str(tmp_path / "none.conf"), "shorty", expect=125), "none.conf")


def test_run_pull_policies(bb, registry, tmp_path, monkeypatch):
    monkeypatch.setenv("OTTER_REGISTRIES_CONF", write_conf(
        tmp_path, f'[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n'))
    ref = f"{registry.host}/pol:1"
    push(bb, registry, "pol:1")
    one_error(bb.run("run", "--rm", "--pull=never", ref, "true", expect=125), "image not known")
    missing = bb.run("run", "--rm", "--pull=missing", ref, "echo", "pulled")
    assert missing.out == "pulled\n" and f"Trying to pull {ref}" in missing.err
    again = bb.run("run", "--rm", ref, "true")
    assert "Trying to pull" not in again.err
    always = bb.run("run", "--rm", "--pull=always", ref, "true")
    assert "Trying to pull" in always.err
    assert "Trying to pull" not in bb.run("run", "--rm", "--pull=newer", ref, "true").err
    bb.run("import", BUSYBOX_ROOTFS, "localhost/changed")
    push(bb, registry, "pol:1", image="localhost/changed")         # the registry's pol:1 changes
    assert "Trying to pull" in bb.run("create", "--pull=newer", ref, "true").err


# -- interoperability with skopeo -------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")
def test_skopeo_pushes_otter_pulls(otter, registry):
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"docker-archive:{BUSYBOX_ARCHIVE}",
                    f"docker://{registry.host}/fromskopeo:1"], check=True, capture_output=True)
    otter.run("pull", NO_TLS, f"{registry.host}/fromskopeo:1")
    assert otter.run("run", "--rm", f"{registry.host}/fromskopeo:1", "echo", "skopeo").out == "skopeo\n"


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")
def test_otter_pushes_skopeo_pulls(bb, registry, tmp_path):
    digest = push(bb, registry, "fromotter:1").out.strip()
    inspect = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                                         f"docker://{registry.host}/fromotter:1"],
                                        check=True, capture_output=True).stdout)
    assert inspect["Digest"] == digest
    assert inspect["Layers"] == [d for d in inspect["Layers"] if DIGEST.match(d)] and len(inspect["Layers"]) == 1
    out = tmp_path / "dir"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{registry.host}/fromotter:1",
                    f"dir:{out}"], check=True, capture_output=True)
    manifest = json.loads((out / "manifest.json").read_text())
    for d in [manifest["config"]] + manifest["layers"]:
        data = (out / d["digest"].split(":", 1)[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == d["digest"] and len(data) == d["size"]
