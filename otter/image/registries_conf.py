"""The registries configuration: where names are looked up, which registries are insecure,
and which mirrors stand in for a registry. Podman's `registries.conf` (v2) semantics, in
otter's own file.

Vocabulary:
  prefix       the part of a repository an entry applies to: `example.com`, `example.com/team`
               or a wildcard domain `*.example.com`. The longest matching prefix wins; an
               entry without `prefix` uses its `location`.
  location     where the registry really is: a repository matching `prefix` is rewritten to
               `location` + the rest of its path (so an entry can redirect a namespace).
  mirror       another location tried before the primary one when pulling (never for push).
               With `mirror-by-digest-only`, mirrors serve only `name@digest` references.
  insecure     TLS certificates are not verified and plain HTTP is allowed.
  blocked      pulling from or pushing to the registry is refused.
  short name   a reference without a registry (`busybox`, `me/app:1`). It resolves through
               `[aliases]` first, then through `unqualified-search-registries`. With more
               than one search registry the name is ambiguous: `short-name-mode = "enforcing"`
               (the default) refuses it with an explicit error (Podman would prompt on a TTY;
               otter never prompts), `"permissive"` or `"disabled"` tries each registry in order.

The file:

    unqualified-search-registries = ["docker.io", "quay.io"]
    short-name-mode = "enforcing"

    [[registry]]
    prefix = "example.com"              # optional, defaults to location
    location = "registry.internal:5000"
    insecure = true
    mirror-by-digest-only = false
    [[registry.mirror]]
    location = "mirror.internal:5000"
    insecure = true

    [aliases]
    "app" = "quay.io/team/app"

It is read from `--registries-conf`, else `$OTTER_REGISTRIES_CONF`, else
`/etc/otter/registries.conf`; without a file, short names resolve on docker.io (as Docker does).
"""

from __future__ import annotations

import os

from otter.errors import InvalidArgument
from otter.image.reference import DOCKER_DOMAIN, Reference, parse_normalized, split_reference
from otter.record import field, record

DEFAULT_PATH = "/etc/otter/registries.conf"
ENV_VAR = "OTTER_REGISTRIES_CONF"
SHORT_NAME_MODES = ("enforcing", "permissive", "disabled")


@record
class Mirror:
    location: str
    insecure: bool = False


@record
class RegistryEntry:
    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirror_by_digest_only: bool = False
    mirrors: tuple[Mirror, ...] = ()

    def matches(self, repository: str) -> bool:
        if self.prefix.startswith("*."):
            domain = repository.split("/", 1)[0]
            return domain.endswith(self.prefix[1:])
        return repository == self.prefix or repository.startswith(self.prefix + "/")

    def rewrite(self, ref: Reference, location: str) -> Reference:
        """`ref` with its matched prefix replaced by `location`."""
        if self.prefix.startswith("*."):
            return ref
        rest = ref.repository[len(self.prefix):]
        domain, _, path = (location + rest).partition("/")
        return Reference(domain, path, ref.tag, ref.digest)


@record
class Source:
    """One place to pull an image from (or push it to)."""

    reference: Reference
    insecure: bool = False
    mirror: bool = False


@record
class RegistriesConf:
    path: str
    search: tuple[str, ...] = (DOCKER_DOMAIN,)
    short_name_mode: str = "enforcing"
    registries: tuple[RegistryEntry, ...] = ()
    aliases: dict = field(default_factory=dict)

    # -- reading --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | None = None) -> RegistriesConf:
        """Read the configuration; a missing default file means the defaults, a missing
        file that was asked for by name is an error."""
        explicit = path or os.environ.get(ENV_VAR)
        path = explicit or DEFAULT_PATH
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            if explicit:
                raise InvalidArgument(f"registries configuration {path}: no such file") from None
            return cls(path)
        except OSError as e:
            raise InvalidArgument(f"registries configuration {path}: {e.strerror}") from None
        return cls.parse(data.decode("utf-8", errors="replace"), path)

    @classmethod
    def parse(cls, text: str, path: str) -> RegistriesConf:
        import tomllib
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise InvalidArgument(f"{path}: invalid TOML: {e}") from None
        check = _Checker(path)
        search = tuple(check.strings(doc, "unqualified-search-registries", [DOCKER_DOMAIN]))
        mode = check.string(doc, "short-name-mode", "enforcing")
        if mode not in SHORT_NAME_MODES:
            raise InvalidArgument(f"{path}: short-name-mode must be one of {', '.join(SHORT_NAME_MODES)}, not {mode!r}")
        entries = []
        for i, table in enumerate(check.tables(doc, "registry")):
            where = f"registry[{i}]"
            location = check.string(table, "location", "", where)
            prefix = check.string(table, "prefix", "", where) or location
            if not prefix:
                raise InvalidArgument(f"{path}: {where} needs a location or a prefix")
            mirrors = tuple(Mirror(check.string(m, "location", "", f"{where}.mirror"),
                                   check.boolean(m, "insecure", f"{where}.mirror"))
                            for m in check.tables(table, "mirror", where))
            if any(not m.location for m in mirrors):
                raise InvalidArgument(f"{path}: every {where}.mirror needs a location")
            entries.append(RegistryEntry(prefix.rstrip("/"), (location or prefix).rstrip("/"),
                                         check.boolean(table, "insecure", where), check.boolean(table, "blocked", where),
                                         check.boolean(table, "mirror-by-digest-only", where), mirrors))
        aliases = doc.get("aliases", {})
        if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
            raise InvalidArgument(f"{path}: [aliases] must map short names to image names")
        return cls(path, search, mode, tuple(entries), dict(aliases))

    # -- lookups --------------------------------------------------------------------------
    def entry(self, repository: str) -> RegistryEntry | None:
        """The entry with the longest prefix matching `repository` (`domain/path`)."""
        best = None
        for e in self.registries:
            if e.matches(repository) and (best is None or len(e.prefix) > len(best.prefix)):
                best = e
        return best

    def _primary(self, ref: Reference) -> tuple[RegistryEntry | None, Source]:
        e = self.entry(ref.repository)
        if e is None:
            return None, Source(ref)
        if e.blocked:
            raise InvalidArgument(f"registry {ref.domain} is blocked in {self.path}")
        return e, Source(e.rewrite(ref, e.location), e.insecure)

    def pull_sources(self, ref: Reference) -> list[Source]:
        """Where to pull `ref` from, in order: its mirrors, then the registry itself."""
        e, primary = self._primary(ref)
        if e is None or (e.mirror_by_digest_only and ref.digest is None):
            return [primary]
        return [Source(e.rewrite(ref, m.location), m.insecure, True) for m in e.mirrors] + [primary]

    def push_target(self, ref: Reference) -> Source:
        return self._primary(ref)[1]

    def host_insecure(self, host: str) -> bool:
        """Whether `host` (a registry domain, as given to login) is marked insecure."""
        e = self.entry(host)
        return bool(e and e.insecure)

    def resolve(self, text: str) -> list[Reference]:
        """The fully qualified references a user's `text` may mean, to be tried in order."""
        domain, path, tag, digest = split_reference(text)
        if domain is not None:
            return [parse_normalized(text)]
        alias = self.aliases.get(path)
        if alias is not None:
            target = parse_normalized(alias)
            return [Reference(target.domain, target.path, tag or target.tag, digest)]
        if not self.search:
            raise InvalidArgument(f'short-name "{text}" did not resolve to an alias and no unqualified-search '
                                  f"registries are defined in {self.path}")
        candidates = [_qualify(registry, path, tag, digest) for registry in self.search]
        if len(candidates) > 1 and self.short_name_mode == "enforcing":
            names = ", ".join(c.repository for c in candidates)
            raise InvalidArgument(f'short name "{text}" is ambiguous: it may be any of {names} '
                                  f"(unqualified-search-registries in {self.path}); use a fully qualified name")
        return candidates


def _qualify(registry: str, path: str, tag: str | None, digest: str | None) -> Reference:
    if registry == DOCKER_DOMAIN and "/" not in path:
        path = "library/" + path
    return Reference(registry, path, tag, digest)


class _Checker:
    """Type checks for the TOML document, with errors that name the file and the key."""

    def __init__(self, path: str):
        self.path = path

    def _get(self, table: dict, key: str, kind, default, where: str | None):
        value = table.get(key, default)
        if not isinstance(value, kind):
            name = f"{where}.{key}" if where else key
            raise InvalidArgument(f"{self.path}: {name} has the wrong type ({type(value).__name__})")
        return value

    def string(self, table: dict, key: str, default: str, where: str | None = None) -> str:
        return self._get(table, key, str, default, where)

    def boolean(self, table: dict, key: str, where: str | None = None) -> bool:
        return self._get(table, key, bool, False, where)

    def strings(self, table: dict, key: str, default: list[str]) -> list[str]:
        value = self._get(table, key, list, default, None)
        if not all(isinstance(v, str) and v for v in value):
            raise InvalidArgument(f"{self.path}: {key} must be a list of registry names")
        return value

    def tables(self, table: dict, key: str, where: str | None = None) -> list[dict]:
        value = self._get(table, key, list, [], where)
        if not all(isinstance(v, dict) for v in value):
            raise InvalidArgument(f"{self.path}: {key} must be an array of tables ([[{key}]])")
        return value
