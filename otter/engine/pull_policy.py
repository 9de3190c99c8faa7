"""`run`/`create --pull=POLICY`: which image a new container gets, pulling when the policy
says so. Kept apart from `engine.registry` so that `run` with a stored image imports nothing
of the registry client (tens of milliseconds of start-up).

Policies (Podman's): `never` only looks in the store; `missing` (the default) pulls when the
store lacks the image; `always` pulls; `newer` pulls when the registry's manifest digest
differs from the stored image's, and keeps the stored image when the registry cannot be asked.
"""

from __future__ import annotations

from otter.engine.context import Engine
from otter.errors import ImageNotFound, InvalidArgument
from otter.record import TYPE_CHECKING

if TYPE_CHECKING:
    from otter.image.store import ImageRecord

PULL_POLICIES = ("always", "missing", "never", "newer")


def image_for_container(eng: Engine, image: str, policy: str) -> ImageRecord:
    if policy not in PULL_POLICIES:
        raise InvalidArgument(f"invalid pull policy {policy!r}: use one of {', '.join(PULL_POLICIES)}")
    if policy != "always":
        try:
            local = eng.images.lookup(image)
        except ImageNotFound:
            if policy == "never":
                raise
        else:
            if policy != "newer" or not _registry_differs(image, local):
                return local
    import sys

    from otter.engine.progress import TextProgress
    from otter.engine.registry import PullOptions, image_pull
    # Podman's run shows the pull's progress on stderr, as `pull` does.
    return image_pull(eng, PullOptions(image), TextProgress(sys.stderr))[0]


def _registry_differs(image: str, local: ImageRecord) -> bool:
    from otter import log
    from otter.engine.registry import registry_digest
    from otter.errors import RegistryError
    try:
        remote = registry_digest(image)
    except (RegistryError, InvalidArgument) as e:
        log.warning(f"cannot check {image} on its registry, using the stored image: {e}")
        return False
    return remote is not None and remote != local.digest
