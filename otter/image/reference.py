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

from otter.errors import InvalidArgument
from otter.record import record

DEFAULT_TAG = "latest"
DOCKER_DOMAIN = "docker.io"

# The grammar of github.com/distribution/reference, checked character by character (its
# regular expressions cost 1 ms to compile on every `run`, and `re` itself 2 ms to import):
#   path component  [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
#   domain          label(\.label)*(:[0-9]+)?   label: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?
#   tag             [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
#   digest          [a-z0-9]+([.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}
_DIGITS = frozenset("0123456789")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz") | _DIGITS
_ALNUM = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WORD = _ALNUM | {"_"}
_TAG_CHARS = _WORD | {".", "-"}
_LABEL_CHARS = _ALNUM | {"-"}
_HEX = frozenset("0123456789abcdefABCDEF")
_LOWER_HEX = frozenset("0123456789abcdef")


def _separated(text: str, valid_separator) -> bool:
    """Whether `text` is runs of [a-z0-9] joined by separators that `valid_separator` accepts."""
    if not text or text[0] not in _LOWER_ALNUM or text[-1] not in _LOWER_ALNUM:
        return False
    i = 0
    while i < len(text):
        if text[i] in _LOWER_ALNUM:
            i += 1
            continue
        j = i
        while text[j] not in _LOWER_ALNUM:
            j += 1
        if not valid_separator(text[i:j]):
            return False
        i = j
    return True


def _path_separator(sep: str) -> bool:
    return sep in (".", "_", "__") or not sep.strip("-")


def _valid_path(path: str) -> bool:
    return all(_separated(component, _path_separator) for component in path.split("/"))


def _valid_domain(domain: str) -> bool:
    host, colon, port = domain.partition(":")
    if colon and not (port and _DIGITS.issuperset(port)):
        return False
    return all(label and label[0] in _ALNUM and label[-1] in _ALNUM and _LABEL_CHARS.issuperset(label)
               for label in host.split("."))


def _valid_tag(tag: str) -> bool:
    return 0 < len(tag) <= 128 and tag[0] in _WORD and _TAG_CHARS.issuperset(tag)


def _valid_digest(digest: str) -> bool:
    algorithm, colon, hex_part = digest.partition(":")
    return (bool(colon) and len(hex_part) >= 32 and _HEX.issuperset(hex_part)
            and _separated(algorithm, lambda sep: sep in (".", "+", "_", "-")))


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
        if not _valid_digest(digest):
            raise InvalidArgument(f"invalid reference format: bad digest in {text!r}")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _valid_tag(tag):
            raise InvalidArgument(f"invalid reference format: bad tag in {text!r}")
    domain = None
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _valid_domain(first):
            raise InvalidArgument(f"invalid reference format: bad registry name in {text!r}")
        domain, name = first, rest
    if name.lower() != name:
        raise InvalidArgument(f"invalid reference format: repository name ({text}) must be lowercase")
    if not _valid_path(name):
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
    hex_part = text.removeprefix("sha256:")
    return len(hex_part) == 64 and _LOWER_HEX.issuperset(hex_part)


def is_id_prefix(text: str) -> bool:
    return 3 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text)


def is_tag_only(text: str) -> bool:
    """True for an OCI layout ref name that is just a tag ("latest"), not an image name."""
    return "/" not in text and ":" not in text and "@" not in text and _valid_tag(text)
