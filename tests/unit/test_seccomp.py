"""Tests for otter.spec.seccomp: moby-style profile -> OCI linux.seccomp (mechanics §1.5)."""

from __future__ import annotations

import json
import os
import platform

import pytest

from otter.errors import InvalidArgument
from otter.spec import seccomp
from otter.spec.runtime import DEFAULT_CAPS
from otter.spec.seccomp import InvalidProfile, convert_profile
from otter.sys import kernel

X86 = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
REAL_X32_PROBE = kernel.x32_abi_enabled


@pytest.fixture(autouse=True)
def kernel_with_x32(monkeypatch):
    """Pin the kernel probe: the expected arch lists must not depend on the test host."""
    monkeypatch.setattr(kernel, "x32_abi_enabled", lambda: True)

needs_default_profile = pytest.mark.skipif(
    not os.path.exists(seccomp.DEFAULT_PROFILE), reason="containers-common seccomp.json not installed")


def profile(*groups: dict, **top) -> dict:
    return {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": list(groups), **top}


def group(name: str, **fields) -> dict:
    return {"names": [name], "action": "SCMP_ACT_ALLOW", **fields}


def kept_names(result: dict) -> list[str]:
    return [name for rule in result.get("syscalls", []) for name in rule["names"]]


# -- the installed containers-common profile ------------------------------------------------

@needs_default_profile
def test_default_profile_with_default_caps():
    result = convert_profile(seccomp.load_profile(seccomp.DEFAULT_PROFILE), DEFAULT_CAPS, arch="amd64")
    assert result["defaultAction"] == "SCMP_ACT_ERRNO"
    assert result["defaultErrnoRet"] == 38
    assert result["architectures"] == X86
    # 35 groups: 7 unconditional, 2 x86 ones, 10 negated-cap groups for caps we lack,
    # the CAP_SYS_CHROOT allow group, and none of the arm/s390/ppc or other cap groups.
    assert len(result["syscalls"]) == 22
    # Key order matches the runtime-spec struct, so json.dumps is Podman's byte order.
    assert list(result) == ["defaultAction", "defaultErrnoRet", "architectures", "syscalls"]


@needs_default_profile
def test_default_profile_rules_carry_only_oci_fields():
    result = convert_profile(seccomp.load_profile(seccomp.DEFAULT_PROFILE), DEFAULT_CAPS, arch="amd64")
    for rule in result["syscalls"]:
        assert set(rule) <= {"names", "action", "errnoRet", "args"}
        if rule["action"] == "SCMP_ACT_ERRNO":
            assert "errnoRet" in rule
        for arg in rule.get("args", []):
            assert "valueTwo" not in arg  # every valueTwo in the stock profile is 0
            assert list(arg) == ["index", "value", "op"]
    allowed = {n for r in result["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    denied = {n for r in result["syscalls"] if r["action"] == "SCMP_ACT_ERRNO" for n in r["names"]}
    # Mechanics §1.5: containers-common allows these unconditionally, unlike Docker.
    assert {"mount", "unshare", "setns", "pivot_root"} <= allowed
    assert "chroot" in allowed and "chroot" not in denied  # CAP_SYS_CHROOT is a default cap
    assert "sethostname" in denied  # negated CAP_SYS_ADMIN group


@needs_default_profile
def test_cap_sys_admin_enables_its_groups():
    raw = seccomp.load_profile(seccomp.DEFAULT_PROFILE)
    base = convert_profile(raw, DEFAULT_CAPS, arch="amd64")
    admin = convert_profile(raw, [*DEFAULT_CAPS, "CAP_SYS_ADMIN"], arch="amd64")
    admin_allow = [r for r in admin["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "bpf" in r["names"]]
    assert len(admin_allow) == 1 and "sethostname" in admin_allow[0]["names"]
    assert not any("bpf" in r["names"] for r in base["syscalls"] if r["action"] == "SCMP_ACT_ALLOW")
    # The negated group (ERRNO for bpf, sethostname, ...) disappears in exchange.
    assert not any("bpf" in r["names"] for r in admin["syscalls"] if r["action"] == "SCMP_ACT_ERRNO")
    assert len(admin["syscalls"]) == len(base["syscalls"])


@needs_default_profile
def test_cap_audit_write_swaps_socket_rules():
    raw = seccomp.load_profile(seccomp.DEFAULT_PROFILE)
    base = convert_profile(raw, DEFAULT_CAPS, arch="amd64")
    audit = convert_profile(raw, [*DEFAULT_CAPS, "CAP_AUDIT_WRITE"], arch="amd64")
    # Four argument-filtered socket groups go, one unconditional socket allow comes.
    assert kept_names(base).count("socket") == 4
    assert kept_names(audit).count("socket") == 1
    assert len(audit["syscalls"]) == 19


@needs_default_profile
def test_load_default_parses_once_and_matches_convert(monkeypatch):
    seccomp._default_profile.cache_clear()
    first = seccomp.load_default(DEFAULT_CAPS)
    monkeypatch.setattr(seccomp, "load_profile", lambda path: pytest.fail("profile read twice"))
    second = seccomp.load_default(DEFAULT_CAPS)
    assert first == second
    with open(seccomp.DEFAULT_PROFILE) as f:
        assert first == convert_profile(json.load(f), DEFAULT_CAPS)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 host only")
def test_native_arch_is_libseccomp_spelling():
    assert seccomp.native_arch() == "amd64"


# -- filter rules on synthetic profiles ------------------------------------------------------

def test_excludes_arches_drops_group_for_that_arch():
    p = profile(group("a", excludes={"arches": ["amd64"]}), group("b", excludes={"arches": ["arm64"]}))
    assert kept_names(convert_profile(p, [], arch="amd64")) == ["b"]


def test_excludes_caps_drops_group_when_any_cap_is_held():
    p = profile(group("a", excludes={"caps": ["CAP_X", "CAP_Y"]}), group("b", excludes={"caps": ["CAP_Z"]}))
    assert kept_names(convert_profile(p, ["CAP_Y"], arch="amd64")) == ["b"]
    assert kept_names(convert_profile(p, [], arch="amd64")) == ["a", "b"]


def test_includes_arches_keeps_group_only_for_listed_arches():
    p = profile(group("a", includes={"arches": ["arm", "arm64"]}), group("b", includes={"arches": ["amd64", "x32"]}),
                group("c", includes={"arches": []}))
    assert kept_names(convert_profile(p, [], arch="amd64")) == ["b", "c"]
    assert kept_names(convert_profile(p, [], arch="arm64")) == ["a", "c"]


def test_includes_caps_needs_every_cap():
    p = profile(group("a", includes={"caps": ["CAP_X", "CAP_Y"]}))
    assert kept_names(convert_profile(p, ["CAP_X"], arch="amd64")) == []
    assert kept_names(convert_profile(p, ["CAP_X", "CAP_Y"], arch="amd64")) == ["a"]


def test_no_kept_groups_omits_syscalls():
    p = profile(group("a", includes={"caps": ["CAP_X"]}))
    assert convert_profile(p, [], arch="amd64") == {"defaultAction": "SCMP_ACT_ERRNO"}


def test_rule_fields_errno_and_args():
    p = profile({"names": ["a", "b"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM", "comment": "x",
                 "args": [{"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 4, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]},
                group("c", args=None))
    rules = convert_profile(p, [], arch="amd64")["syscalls"]
    assert rules == [
        {"names": ["a", "b"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 4, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["c"], "action": "SCMP_ACT_ALLOW"},
    ]


def test_single_name_field():
    p = profile({"name": "read", "action": "SCMP_ACT_ALLOW"})
    assert convert_profile(p, [], arch="amd64")["syscalls"] == [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]


def test_default_errno_ret_only_when_given():
    assert "defaultErrnoRet" not in convert_profile(profile(), [], arch="amd64")
    assert convert_profile(profile(defaultErrnoRet=1), [], arch="amd64")["defaultErrnoRet"] == 1


def test_arch_map_picks_native_entry_with_sub_arches():
    arch_map = [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}]
    p = profile(archMap=arch_map)
    assert convert_profile(p, [], arch="amd64")["architectures"] == X86
    assert convert_profile(p, [], arch="arm64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    # No entry for the arch: libseccomp falls back to the native arch.
    assert "architectures" not in convert_profile(p, [], arch="riscv64")


def test_x32_dropped_when_the_kernel_has_no_x32_abi(monkeypatch):
    monkeypatch.setattr(kernel, "x32_abi_enabled", lambda: False)
    arch_map = [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}]
    assert convert_profile(profile(archMap=arch_map), [], arch="amd64")["architectures"] == X86[:2]
    assert convert_profile(profile(architectures=X86), [], arch="amd64")["architectures"] == X86[:2]


def test_x32_probe_agrees_with_the_kernel():
    """The probe is a real x32 getpid: it cannot succeed on a kernel built without the ABI
    (compared where the running kernel's config is readable; a kernel built with it may
    still disable it at boot, as Debian's do)."""
    try:
        import gzip
        with gzip.open("/proc/config.gz", "rt") as f:
            config = f.read()
    except OSError:
        pytest.skip("no /proc/config.gz to compare the probe with")
    if platform.machine() != "x86_64":
        pytest.skip("x32 is an x86-64 ABI")
    if REAL_X32_PROBE():
        assert "CONFIG_X86_X32_ABI=y" in config
    else:
        assert "CONFIG_X86_X32_ABI=y" not in config or "syscall.x32" in open("/proc/cmdline").read() \
            or "CONFIG_X86_X32_DISABLED=y" in config


def test_explicit_architectures_pass_through():
    p = profile(architectures=["SCMP_ARCH_X86_64"])
    assert convert_profile(p, [], arch="arm64")["architectures"] == ["SCMP_ARCH_X86_64"]


@pytest.mark.parametrize("bad, message", [
    (profile(architectures=["SCMP_ARCH_X86_64"], archMap=[{"architecture": "SCMP_ARCH_X86_64"}]), "both"),
    (profile({"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}), "both 'name' and 'names'"),
    (profile({"action": "SCMP_ACT_ALLOW"}), "no syscall names"),
    ({"syscalls": []}, "no defaultAction"),
    (["not", "an", "object"], "JSON object"),
])
def test_malformed_profiles_are_rejected(bad, message):
    with pytest.raises(InvalidProfile, match=message):
        convert_profile(bad, [], arch="amd64")


def test_load_profile_errors_are_invalid_argument(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InvalidProfile, match="not valid JSON"):
        seccomp.load_profile(str(broken))
    with pytest.raises(InvalidArgument, match="cannot read"):
        seccomp.load_profile(str(tmp_path / "missing.json"))
    with pytest.raises(ValueError):
        seccomp.load_profile(str(tmp_path / "missing.json"))


@needs_default_profile
def test_default_conversion_is_cached_per_bounding_set(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    first = seccomp.load_default(DEFAULT_CAPS, cache)
    assert first == seccomp.load_default(DEFAULT_CAPS)
    assert len(os.listdir(cache)) == 1

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again instead of reading the cache")
    monkeypatch.setattr(seccomp, "convert_profile", no_conversion)
    assert seccomp.load_default(list(reversed(DEFAULT_CAPS)), cache) == first
    monkeypatch.undo()
    monkeypatch.setattr(kernel, "x32_abi_enabled", lambda: True)
    more = seccomp.load_default([*DEFAULT_CAPS, "CAP_SYS_ADMIN"], cache)
    assert more != first and len(os.listdir(cache)) == 2
    # A cache file that does not hold its key (corrupt, or a crc32 collision) is not trusted.
    for name in os.listdir(cache):
        with open(os.path.join(cache, name), "w") as f:
            f.write('{"key": "other", "seccomp": {}}')
    assert seccomp.load_default(DEFAULT_CAPS, cache) == first
