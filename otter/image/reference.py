"""Image references: parsing and normalisation the way Podman does it.

Vocabulary:
  reference   `[domain/]path[:tag][@digest]`, e.g. `docker.io/library/busybox:1.36`.
  domain      the registry host (with port): the first component when it has a `.` or `:`
              or is `localhost`.
  repository  domain + path, e.g. `localhost/busybox`.
  short name  a reference without a domain (`busybox`, `me/app:1`). Where a stored image
              must be found, short names try `localhost/<name>` first, then
              `docker.io/[library/]<name>`, then any stored repository ending in `/<name>`.
              Where a new name is given (`tag`, `import`, `commit`), a short name becomes
              `localhost/<name>`, as Podman does.
"""

from __future__ import annotations

import re

from otter.errors import InvalidArgument
from otter.record import record

DEFAULT_TAG = "latest"
DOCKER_DOMAIN = "docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_HEX_ID_RE = re.compile(r"^(?:sha256:)?[a-f0-9]{64}$")


@record
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def with_default_tag(self) -> "Reference":
        if self.tag is None and self.digest is None:
            return Reference(self.domain, self.path, DEFAULT_TAG)
        return self


def split_reference(text: str) -> tuple[str | None, str, str | None, str | None]:
    """Split into (domain or None, path, tag, digest), validating each part."""
    if not text or text != text.strip():
        raise InvalidArgument(f"invalid reference format: {text!r}")
    name, digest = text, None
    if "@" in name:
        name, digest = name.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidArgument(f"invalid reference format: bad digest in {text!r}")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG_RE.match(tag):
            raise InvalidArgument(f"invalid reference format: bad tag in {text!r}")
    domain = None
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN_RE.match(first):
            raise InvalidArgument(f"invalid reference format: bad registry name in {text!r}")
        domain, name = first, rest
    if name.lower() != name:
        raise InvalidArgument(f"invalid reference format: repository name ({text}) must be lowercase")
    if not _PATH_RE.match(name):
        raise InvalidArgument(f"invalid reference format: {text!r}")
    if len(name) + len(domain or "") > 255:
        raise InvalidArgument(f"invalid reference format: repository name {text!r} is too long")
    return domain, name, tag, digest


def parse_normalized(text: str) -> Reference:
    """Parse with Docker's normalisation: short names live on docker.io (used for names found
    inside docker-archives and for registry pulls)."""
    domain, path, tag, digest = split_reference(text)
    if domain is None:
        domain = DOCKER_DOMAIN
    if domain == DOCKER_DOMAIN and "/" not in path:
        path = "library/" + path
    return Reference(domain, path, tag, digest)


def parse_local_name(text: str) -> Reference:
    """Parse a name the user gives to a new image (`tag`, `import`, `commit`): short names
    are `localhost/...`, as Podman does. The tag defaults to `latest`."""
    domain, path, tag, digest = split_reference(text)
    if digest is not None:
        raise InvalidArgument(f"invalid image name {text!r}: a name to assign cannot contain a digest")
    return Reference(domain or "localhost", path, tag).with_default_tag()


def lookup_candidates(text: str) -> tuple[list[Reference], bool]:
    """References to try, in order, when looking up a stored image by `text`, and whether
    `text` was a short name (which also matches any repository ending in `/<path>`)."""
    domain, path, tag, digest = split_reference(text)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    if domain is not None:
        return [Reference(domain, path, tag, digest)], False
    candidates = [Reference("localhost", path, tag, digest)]
    candidates.append(Reference(DOCKER_DOMAIN, path if "/" in path else "library/" + path, tag, digest))
    return candidates, True


def split_name(name: str) -> tuple[str, str]:
    """A stored image name as (repository, tag): `repo:tag` -> (repo, tag), and a name kept
    by digest (an image pulled as `repo@sha256:...`) -> (repo, "<none>")."""
    if "@" in name:
        return name.split("@", 1)[0], "<none>"
    repo, _, tag = name.rpartition(":")
    return repo, tag


def looks_like_id(text: str) -> bool:
    return bool(_HEX_ID_RE.match(text))


def is_id_prefix(text: str) -> bool:
    return 3 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text)


def is_tag_only(text: str) -> bool:
    """True for an OCI layout ref name that is just a tag ("latest"), not an image name."""
    return "/" not in text and ":" not in text and "@" not in text and bool(_TAG_RE.match(text))
