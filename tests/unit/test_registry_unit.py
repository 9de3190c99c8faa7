"""Unit tests of the registry pieces that need no registry: WWW-Authenticate, registries.conf,
authfiles and credential helpers, durations, progress text."""

from __future__ import annotations

import base64
import io
import json
import os
import stat

import pytest

from otter.errors import InvalidArgument, RegistryError
from otter.image import auth
from otter.image.reference import Reference
from otter.image.registries_conf import RegistriesConf
from otter.image.registry import Challenge, parse_www_authenticate

# -- WWW-Authenticate -----------------------------------------------------------------------------

@pytest.mark.parametrize("header, expected", [
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
     [Challenge("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                           "scope": "repository:library/busybox:pull"})]),
    ('Basic realm="Registry Realm"', [Challenge("basic", {"realm": "Registry Realm"})]),
    ('bearer Realm=https://r/t, Service=svc', [Challenge("bearer", {"realm": "https://r/t", "service": "svc"})]),
    ('Bearer realm="https://r/t",scope="repository:a:pull,push",error="insufficient_scope"',
     [Challenge("bearer", {"realm": "https://r/t", "scope": "repository:a:pull,push", "error": "insufficient_scope"})]),
    ('Basic realm="a \\"quoted\\" realm"', [Challenge("basic", {"realm": 'a "quoted" realm'})]),
    ('Basic realm="x", Bearer realm="https://r/t",service="s"',
     [Challenge("basic", {"realm": "x"}), Challenge("bearer", {"realm": "https://r/t", "service": "s"})]),
    ('Negotiate', [Challenge("negotiate", {})]),
])
def test_www_authenticate(header, expected):
    assert parse_www_authenticate(header) == expected


@pytest.mark.parametrize("header", ['', '   ', 'Bearer realm="unterminated', 'Bearer realm=', '=x',
                                    'Bearer realm="a" service="b"', 'Bearer "quoted"'])
def test_www_authenticate_malformed(header):
    with pytest.raises(RegistryError, match="malformed WWW-Authenticate"):
        parse_www_authenticate(header)


# -- registries.conf --------------------------------------------------------------------------------

CONF = """
unqualified-search-registries = ["registry.example:5000", "quay.io"]
short-name-mode = "enforcing"

[[registry]]
location = "registry.example:5000"
insecure = true

[[registry]]
prefix = "example.com/team"
location = "internal.example:5000/mirror/team"

[[registry]]
prefix = "example.com"
location = "example.com"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror-a.example"
[[registry.mirror]]
location = "mirror-b.example"
insecure = true

[[registry]]
prefix = "*.blocked.example"
blocked = true

[aliases]
"app" = "quay.io/team/app"
"hub" = "busybox"
"""


def conf(text: str = CONF) -> RegistriesConf:
    return RegistriesConf.parse(text, "/test/registries.conf")


def test_short_names():
    c = conf()
    with pytest.raises(InvalidArgument, match=r'short name "busybox" is ambiguous: .*registry\.example:5000/busybox, '
                                              r'quay\.io/busybox .*/test/registries\.conf'):
        c.resolve("busybox")
    permissive = conf(CONF.replace('"enforcing"', '"permissive"'))
    assert permissive.resolve("busybox:1") == [Reference("registry.example:5000", "busybox", "1"),
                                               Reference("quay.io", "busybox", "1")]
    assert c.resolve("app:2") == [Reference("quay.io", "team/app", "2")]
    assert c.resolve("hub") == [Reference("docker.io", "library/busybox")]
    assert c.resolve("quay.io/x/y") == [Reference("quay.io", "x/y")]
    single = conf('unqualified-search-registries = ["docker.io"]')
    assert single.resolve("busybox") == [Reference("docker.io", "library/busybox")]
    none = conf("unqualified-search-registries = []")
    with pytest.raises(InvalidArgument, match="no unqualified-search registries"):
        none.resolve("busybox")


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv("OTTER_REGISTRIES_CONF", raising=False)
    monkeypatch.setattr("otter.image.registries_conf.DEFAULT_PATH", str(tmp_path / "absent.conf"))
    c = RegistriesConf.load()
    assert c.resolve("busybox") == [Reference("docker.io", "library/busybox")]
    ref = Reference("docker.io", "library/busybox", "1")
    assert [(s.reference, s.insecure, s.mirror) for s in c.pull_sources(ref)] == [(ref, False, False)]
    with pytest.raises(InvalidArgument, match="no such file"):
        RegistriesConf.load(str(tmp_path / "named-but-absent.conf"))
    monkeypatch.setenv("OTTER_REGISTRIES_CONF", str(tmp_path / "env-absent.conf"))
    with pytest.raises(InvalidArgument, match="env-absent.conf"):
        RegistriesConf.load()


def test_sources_prefixes_and_mirrors():
    c = conf()
    src = c.pull_sources(Reference("registry.example:5000", "a/b", "1"))
    assert [(s.reference, s.insecure, s.mirror) for s in src] == [(Reference("registry.example:5000", "a/b", "1"),
                                                                   True, False)]
    # The longest prefix wins and rewrites the repository.
    team = c.push_target(Reference("example.com", "team/app", "1"))
    assert team.reference == Reference("internal.example:5000", "mirror/team/app", "1")
    assert c.push_target(Reference("example.com", "teammate/app", "1")).reference.domain == "example.com"
    # Mirrors serve digests only here (mirror-by-digest-only): a tag goes to the registry itself.
    tagged = c.pull_sources(Reference("example.com", "x", "1"))
    assert [s.reference.domain for s in tagged] == ["example.com"]
    digest = "sha256:" + "b" * 64
    by_digest = c.pull_sources(Reference("example.com", "x", None, digest))
    assert [(s.reference.domain, s.insecure, s.mirror) for s in by_digest] == [
        ("mirror-a.example", False, True), ("mirror-b.example", True, True), ("example.com", False, False)]
    with pytest.raises(InvalidArgument, match="blocked"):
        c.pull_sources(Reference("r.blocked.example", "x", "1"))
    assert c.host_insecure("registry.example:5000") and not c.host_insecure("quay.io")


@pytest.mark.parametrize("text, message", [
    ("unqualified-search-registries = [", "invalid TOML"),
    ('unqualified-search-registries = "docker.io"', "wrong type"),
    ("unqualified-search-registries = [1]", "list of registry names"),
    ('short-name-mode = "prompt"', "short-name-mode"),
    ("[[registry]]\ninsecure = true", "needs a location"),
    ('[[registry]]\nlocation = "x"\ninsecure = "yes"', r"registry\[0\]\.insecure has the wrong type"),
    ('[[registry]]\nlocation = "x"\n[[registry.mirror]]\ninsecure = true', "needs a location"),
    ("[aliases]\nx = 1", "aliases"),
])
def test_conf_errors(text, message):
    with pytest.raises(InvalidArgument, match=message):
        conf(text)


# -- authfiles ----------------------------------------------------------------------------------------

def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_store_lookup_remove(tmp_path):
    path = str(tmp_path / "sub" / "auth.json")
    assert auth.lookup("reg.example:5000/a/b", path) is None
    auth.store("reg.example:5000", auth.Credentials("alice", "pw1"), path)
    auth.store("reg.example:5000/team", auth.Credentials("bob", "pw2"), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        doc = json.load(f)
    assert doc == {"auths": {"reg.example:5000": {"auth": b64("alice:pw1")},
                             "reg.example:5000/team": {"auth": b64("bob:pw2")}}}
    assert auth.lookup("reg.example:5000/team/app", path) == auth.Credentials("bob", "pw2")
    assert auth.lookup("reg.example:5000/other/app", path) == auth.Credentials("alice", "pw1")
    assert auth.remove("reg.example:5000/team", path)
    assert not auth.remove("reg.example:5000/team", path)
    assert auth.lookup("reg.example:5000/team/app", path).username == "alice"
    auth.remove_all(path)
    with open(path) as f:
        assert json.load(f) == {"auths": {}}


def test_lookup_order_and_docker_keys(tmp_path, monkeypatch):
    runtime, home = tmp_path / "run", tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert auth.default_auth_file() == str(runtime / "containers" / "auth.json")
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpw")},
        "http://reg.example:5000/": {"auth": b64("docker:pw"), "identitytoken": "tok"}}}))
    assert auth.lookup("docker.io/library/busybox") == auth.Credentials("hubuser", "hubpw")
    assert auth.lookup("reg.example:5000/x") == auth.Credentials("docker", "pw", "tok")
    auth.store("reg.example:5000", auth.Credentials("podman", "pw2"))     # the default authfile comes first
    assert auth.lookup("reg.example:5000/x").username == "podman"
    assert auth.known_elsewhere("reg.example:5000") == str(home / ".docker" / "config.json")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "env.json"))
    assert auth.default_auth_file() == str(tmp_path / "env.json")


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[]", "not a JSON object"),
    (json.dumps({"auths": {"r": {"auth": "!!notbase64"}}}), "base64"),
    (json.dumps({"auths": {"r": {"auth": b64("no-colon")}}}), "base64"),
])
def test_bad_authfiles(tmp_path, content, message):
    path = tmp_path / "auth.json"
    path.write_text(content)
    with pytest.raises(InvalidArgument, match=message):
        auth.lookup("r", str(path))


def test_credentials_never_show_the_secret():
    creds = auth.Credentials("alice", "hunter2-secret", "token-secret")
    assert "secret" not in repr(creds).replace("secret=<redacted>", "")
    assert auth.parse_creds("alice:pa:ss") == auth.Credentials("alice", "pa:ss")
    with pytest.raises(InvalidArgument, match="username is empty"):
        auth.parse_creds(":pw")


def test_credential_helpers(tmp_path, monkeypatch):
    helper = tmp_path / "docker-credential-fake"
    helper.write_text("#!/bin/sh\nread server\n"
                      "case \"$server\" in\n"
                      "  reg.example) echo '{\"Username\":\"helped\",\"Secret\":\"pw\"}' ;;\n"
                      "  https://index.docker.io/v1/) echo '{\"Username\":\"<token>\",\"Secret\":\"idtok\"}' ;;\n"
                      "  broken.example) echo 'not json' ;;\n"
                      "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
                      "esac\n")
    helper.chmod(0o755)
    monkeypatch.setattr("otter.drivers.credential_helper.find_binary",
                        lambda name: str(helper) if name == "docker-credential-fake" else None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credHelpers": {"reg.example": "fake"}, "credsStore": "fake",
                                "auths": {"plain.example": {"auth": b64("plain:pw")}}}))
    assert auth.lookup("reg.example/x", str(path)) == auth.Credentials("helped", "pw")
    assert auth.lookup("docker.io/library/x", str(path)) == auth.Credentials("", "", "idtok")
    assert auth.lookup("plain.example/x", str(path)) == auth.Credentials("plain", "pw")
    assert auth.lookup("unknown.example/x", str(path)) is None
    with pytest.raises(RegistryError, match="not valid JSON") as e:
        auth.lookup("broken.example/x", str(path))
    assert "not json" not in str(e.value)
    path.write_text(json.dumps({"credHelpers": {"reg.example": "absent"}}))
    with pytest.raises(InvalidArgument, match="docker-credential-absent"):
        auth.lookup("reg.example", str(path))


# -- durations and progress --------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [("2", 2.0), ("1.5", 1.5), ("500ms", 0.5), ("1m30s", 90.0), ("10ms", 0.01),
                                           ("1h", 3600.0)])
def test_durations(text, seconds):
    from otter.cli.registry import parse_duration
    assert parse_duration(text, "--retry-delay") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1x", "1s2"])
def test_bad_durations(text):
    from otter.cli.main import UsageError
    from otter.cli.registry import parse_duration
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text, "--retry-delay")


def test_progress_text():
    from otter.engine.progress import TextProgress
    digest = "sha256:" + "ab" * 32
    plain = io.StringIO()
    p = TextProgress(plain, tty=False)
    p.message("Getting image source signatures")
    p.start(digest, 2048)
    p.advance(digest, 1024)
    p.finish(digest)
    p.finish("sha256:" + "cd" * 32, "skipped: already exists")
    assert plain.getvalue() == (f"Getting image source signatures\nCopying blob {digest}\n"
                                f"Copying blob {'cd' * 6} skipped: already exists\n")
    term = io.StringIO()
    t = TextProgress(term, tty=True)
    t.start(digest, 4 << 20)
    t.advance(digest, 2 << 20)
    t.finish(digest)
    out = term.getvalue()
    assert f"Copying blob {'ab' * 6} [" in out and "4.0MiB" in out and "\x1b[1A" in out
    assert out.endswith(f"Copying blob {'ab' * 6} done\n")


def test_registry_import_stays_off_the_hot_path():
    """`otter run` with a stored image must not import urllib3 (start-up time)."""
    import subprocess
    import sys
    code = ("import sys, otter.engine.containers, otter.engine.pull_policy, otter.image.registry, "
            "otter.engine.registry; print('urllib3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
