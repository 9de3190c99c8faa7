"""The exception hierarchy of otter.

Every failure a user can cause or meet is an `OtterError`. The CLI turns it into one
`Error: <message>` line on stderr and an exit code chosen in one place
(`otter.cli.main.exit_code_for`), following Podman: 125 for the engine's own errors, 1 for a
missing object and 2 for an object in use where the command documents those codes (`rm`,
`rmi`, `volume rm`, ...), 126/127 when a container's command cannot be run or found.
"""


class OtterError(Exception):
    """Base class: a failure with a message fit to show the user as one line."""


class InvalidArgument(OtterError):
    """A flag value, reference, path or other user input that cannot be accepted."""


class NotFound(OtterError):
    """The named object (image, container, volume, layer, blob) does not exist."""


class ImageNotFound(NotFound):
    pass


class ContainerNotFound(NotFound):
    pass


class VolumeNotFound(NotFound):
    pass


class InUse(OtterError):
    """The object cannot be removed or changed because something depends on it."""


class AlreadyExists(OtterError):
    """A name or tag that must be unique is taken."""


class InvalidState(OtterError):
    """The object is in a state the operation does not allow (e.g. exec into a stopped container)."""


class CorruptContent(OtterError):
    """Input content is malformed or does not match its declared digest or size."""


class UnsafeContent(CorruptContent):
    """An archive entry tried to escape its root or create something not permitted."""


class RuntimeFailure(OtterError):
    """An external program (runc, conmon, ...) failed; the message carries its own error."""


class CommandNotExecutable(RuntimeFailure):
    """The container's command exists but cannot be executed (exit 126)."""


class CommandNotFound(RuntimeFailure):
    """The container's command does not exist (exit 127)."""


class RegistryError(OtterError):
    """A registry could not be reached or refused a request (the message names the registry)."""


class Unauthorized(RegistryError):
    """A registry rejected the credentials, or needs credentials that were not given."""
