"""What `otter info`, `otter version`, `otter system df` and `otter system prune` report.

Vocabulary:
  report field  a field of the `info`/`version` records, declared with `named(GO, JSON)`:
                GO is the field name Podman's Go struct has, which `--format` templates use
                (`{{.Host.OCIRuntime.Name}}`), JSON the key its json tag gives, which
                `--format json` prints (`host.ociRuntime.name`). Podman's `define.Info` is the
                model; the front end builds both views from these names, never by hand.
  disk usage    what the store holds and how much of it is in use (`DiskUsage`): images (their
                stored size), containers (the size of their writable layer) and volumes (the
                size of their data), each summarised as total/active/size/reclaimable, where
                "active" means in use (an image or volume some container uses, a running
                container) and "reclaimable" is the size of what is not.

`version_info` is on `otter version`'s path, which must start as fast as `otter --version`:
it uses only `os`, `sys` and `time`.
"""

from __future__ import annotations

import os
import sys
import time

import otter
from otter.image.platform import go_arch
from otter.record import TYPE_CHECKING, field, record

if TYPE_CHECKING:
    from otter.core.container import Container
    from otter.engine.context import Engine
    from otter.engine.images import ImageRow
    from otter.engine.volumes import Volume



def named(go: str, json_key: str):
    """A report field (see the module doc): its Go field name and its JSON key."""
    return field(metadata={"go": go, "json": json_key})


# -- version -------------------------------------------------------------------------------------

@record
class VersionInfo:
    """Podman's `define.Version`, whose JSON keys are its Go names (it has no json tags).
    `python_version` stands where Podman has GoVersion."""

    api_version: str = named("APIVersion", "APIVersion")
    version: str = named("Version", "Version")
    python_version: str = named("PythonVersion", "PythonVersion")
    git_commit: str = named("GitCommit", "GitCommit")
    built_time: str = named("BuiltTime", "BuiltTime")
    built: int = named("Built", "Built")
    os_arch: str = named("OsArch", "OsArch")
    os: str = named("Os", "Os")


def version_info() -> VersionInfo:
    # Python has no build step: "built" is when this copy of otter was installed (its files' time).
    # The REST API, when it comes, is versioned with otter, as Podman's is.
    built = int(os.stat(otter.__file__).st_mtime)
    v = sys.version_info
    return VersionInfo(api_version=otter.__version__, version=otter.__version__,
                       python_version=f"{v.major}.{v.minor}.{v.micro}", git_commit="", built_time=time.ctime(built),
                       built=built, os_arch=f"linux/{go_arch()}", os="linux")


# -- info ----------------------------------------------------------------------------------------

@record
class ConmonInfo:
    path: str = named("Path", "path")
    version: str = named("Version", "version")


@record
class DistributionInfo:
    distribution: str = named("Distribution", "distribution")
    version: str = named("Version", "version")
    codename: str = named("Codename", "codename")


@record
class OCIRuntimeInfo:
    name: str = named("Name", "name")
    path: str = named("Path", "path")
    version: str = named("Version", "version")


@record
class SecurityInfo:
    apparmor_enabled: bool = named("AppArmorEnabled", "apparmorEnabled")
    capabilities: str = named("DefaultCapabilities", "capabilities")
    rootless: bool = named("Rootless", "rootless")
    seccomp_enabled: bool = named("SECCOMPEnabled", "seccompEnabled")
    seccomp_profile_path: str = named("SECCOMPProfilePath", "seccompProfilePath")
    selinux_enabled: bool = named("SELinuxEnabled", "selinuxEnabled")


@record
class HostInfo:
    arch: str = named("Arch", "arch")
    cgroup_manager: str = named("CgroupManager", "cgroupManager")
    cgroup_version: str = named("CgroupsVersion", "cgroupVersion")
    conmon: ConmonInfo = named("Conmon", "conmon")
    cpus: int = named("CPUs", "cpus")
    distribution: DistributionInfo = named("Distribution", "distribution")
    hostname: str = named("Hostname", "hostname")
    kernel: str = named("Kernel", "kernel")
    log_driver: str = named("LogDriver", "logDriver")
    mem_free: int = named("MemFree", "memFree")
    mem_total: int = named("MemTotal", "memTotal")
    oci_runtime: OCIRuntimeInfo = named("OCIRuntime", "ociRuntime")
    os: str = named("OS", "os")
    security: SecurityInfo = named("Security", "security")


@record
class ContainerStoreInfo:
    number: int = named("Number", "number")
    paused: int = named("Paused", "paused")
    running: int = named("Running", "running")
    stopped: int = named("Stopped", "stopped")


@record
class ImageStoreInfo:
    number: int = named("Number", "number")


@record
class StoreInfo:
    container_store: ContainerStoreInfo = named("ContainerStore", "containerStore")
    graph_driver_name: str = named("GraphDriverName", "graphDriverName")
    graph_root: str = named("GraphRoot", "graphRoot")
    image_store: ImageStoreInfo = named("ImageStore", "imageStore")
    run_root: str = named("RunRoot", "runRoot")
    volume_path: str = named("VolumePath", "volumePath")


@record
class Info:
    host: HostInfo = named("Host", "host")
    store: StoreInfo = named("Store", "store")
    registries: dict = named("Registries", "registries")   # otter pulls from no configured registry yet
    version: VersionInfo = named("Version", "version")


def _distribution() -> DistributionInfo:
    release: dict[str, str] = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                release[key] = value.strip('"')
    except FileNotFoundError:
        pass
    return DistributionInfo(release.get("ID", ""), release.get("VERSION_ID", ""), release.get("VERSION_CODENAME", ""))


def _host(eng: Engine) -> HostInfo:
    from otter.drivers import conmon, runc
    from otter.errors import InvalidArgument
    from otter.spec.runtime import DEFAULT_CAPS, is_cgroup_v2
    from otter.spec.seccomp import DEFAULT_PROFILE

    try:
        conmon_path = conmon.conmon_binary()
    except InvalidArgument:     # only detached containers need conmon: report it missing, do not fail
        conmon_path = ""
    runtime = eng.runtime.binary
    page = os.sysconf("SC_PAGE_SIZE")
    uname = os.uname()
    return HostInfo(
        arch=go_arch(), cgroup_manager="cgroupfs", cgroup_version="v2" if is_cgroup_v2() else "v1",
        conmon=ConmonInfo(conmon_path, conmon.version(conmon_path) if conmon_path else ""),
        cpus=os.cpu_count() or 1, distribution=_distribution(), hostname=uname.nodename, kernel=uname.release,
        log_driver="k8s-file", mem_free=os.sysconf("SC_AVPHYS_PAGES") * page,
        mem_total=os.sysconf("SC_PHYS_PAGES") * page,
        oci_runtime=OCIRuntimeInfo(os.path.basename(runtime), runtime, runc.version(runtime)), os="linux",
        # otter applies neither AppArmor nor SELinux labels; seccomp whenever the profile is installed.
        security=SecurityInfo(apparmor_enabled=False, capabilities=",".join(DEFAULT_CAPS), rootless=eng.rootless,
                              seccomp_enabled=os.path.exists(DEFAULT_PROFILE), seccomp_profile_path=DEFAULT_PROFILE,
                              selinux_enabled=False))


def _store(eng: Engine) -> StoreInfo:
    from otter.core.container import State
    from otter.engine.containers import container_list
    from otter.engine.images import image_list

    states = [c.state for c in container_list(eng)]
    running, paused = states.count(State.RUNNING), states.count(State.PAUSED)
    return StoreInfo(
        container_store=ContainerStoreInfo(len(states), paused, running, len(states) - running - paused),
        graph_driver_name=eng.driver, graph_root=eng.paths.root,
        image_store=ImageStoreInfo(len({row.image.id for row in image_list(eng)})), run_root=eng.paths.runroot,
        volume_path=eng.paths.volumes)


def info(eng: Engine) -> Info:
    return Info(host=_host(eng), store=_store(eng), registries={}, version=version_info())


# -- disk usage ----------------------------------------------------------------------------------

def tree_size(path: str) -> int:
    """Bytes in the files under `path`, each hard-linked file once and directories not at all,
    as containers/storage counts a layer's or volume's size; 0 if `path` does not exist."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:   # removed while we walk (a running container's files)
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


@record
class UsageSummary:
    """One row of `system df`."""

    type: str            # "Images", "Containers" or "Local Volumes"
    total: int
    active: int
    size: int
    reclaimable: int


@record
class ContainerUsage:
    container: Container
    size: int            # the writable layer
    volumes: int         # named or anonymous volumes it mounts


@record
class VolumeUsage:
    volume: Volume
    links: int           # containers using it
    size: int


@record
class DiskUsage:
    images: list[ImageRow]       # one per image, under its first name
    containers: list[ContainerUsage]
    volumes: list[VolumeUsage]

    def summary(self) -> list[UsageSummary]:
        from otter.core.container import State
        images = [(row.image.size, row.containers > 0) for row in self.images]
        containers = [(c.size, c.container.state == State.RUNNING) for c in self.containers]
        volumes = [(v.size, v.links > 0) for v in self.volumes]
        return [_summarise(kind, items) for kind, items in
                (("Images", images), ("Containers", containers), ("Local Volumes", volumes))]

    @property
    def total_size(self) -> int:
        return sum(s.size for s in self.summary())


def _summarise(kind: str, items: list[tuple[int, bool]]) -> UsageSummary:
    """`items`: (size, active) per object."""
    return UsageSummary(kind, len(items), sum(active for _, active in items), sum(size for size, _ in items),
                        sum(size for size, active in items if not active))


def disk_usage(eng: Engine) -> DiskUsage:
    from otter.engine.containers import container_list
    from otter.engine.images import image_list
    from otter.engine.volumes import volume_list

    images: dict[str, ImageRow] = {}
    for row in image_list(eng):
        images.setdefault(row.image.id, row)
    containers = [ContainerUsage(c, tree_size(eng.snapshotter.upper_dir(c.id)),
                                 sum(m.get("Type") == "volume" for m in c.config.mounts))
                  for c in container_list(eng)]
    vols = volume_list(eng)
    users = eng.volume_users() if vols else {}
    volumes = [VolumeUsage(v, len(users.get(v.name, ())), tree_size(v.mountpoint)) for v in vols]
    return DiskUsage(list(images.values()), containers, volumes)


# -- prune ---------------------------------------------------------------------------------------

@record
class PruneReport:
    containers: list[str]
    volumes: list[str]
    images: list[str]
    reclaimed: int       # bytes the store shrank by


def system_prune(eng: Engine, all_images: bool = False, volumes: bool = False) -> PruneReport:
    """Remove stopped containers, then unused volumes (if asked), then dangling images (all
    unused ones with `all_images`), in the order that frees what the earlier steps released."""
    from otter.engine.containers import container_prune
    from otter.engine.images import image_prune
    from otter.engine.volumes import volume_prune

    before = disk_usage(eng).total_size
    containers = container_prune(eng)
    vols = volume_prune(eng) if volumes else []
    images = image_prune(eng, all_images=all_images)
    return PruneReport(containers, vols, images, before - disk_usage(eng).total_size)
