"""Building and running images without a Docker engine: the one code path every test uses.

The test machines reach package registries but no container registry, and run no Docker engine or
systemd, so: a local base image debootstrapped from the machine's own Debian mirror (the one apt
uses) stands in for python:3.11-slim; buildah builds with chroot isolation and host networking (no
user namespaces or network setup inside a sandbox); podman runs with runc, cgroupfs (no systemd) and
no default ulimits (a sandbox cannot raise them). Every container and image a test creates is
removed by name.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from goldenpath.proc import run

BASE_IMAGE = "localhost/goldenpath-pybase:bookworm"
SUITE = "bookworm"
PODMAN_RUN_FLAGS = ["--runtime", "runc", "--cgroup-manager=cgroupfs"]
TOOLS = ("podman", "buildah", "runc", "debootstrap")


def missing_tools() -> list[str]:
    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    return [tool for tool in TOOLS if shutil.which(tool, path=path) is None]


def containers_conf() -> Path:
    """A containers.conf with no default ulimits (podman's defaults fail on this machine)."""
    conf = Path(tempfile.gettempdir()) / "goldenpath-containers.conf"
    if not conf.exists():
        conf.write_text("[containers]\ndefault_ulimits = []\n")
    return conf


# For tools that run podman themselves (gitlab-ci-local), whose command lines take no flags of ours:
# the settings of PODMAN_RUN_FLAGS and host networking become podman's defaults.
ENGINE_CONF = """[containers]
default_ulimits = []
netns = "host"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""


def engine_conf() -> Path:
    """A containers.conf that makes runc, cgroupfs, no default ulimits and the host network the
    defaults of every podman command (for tools that call podman themselves)."""
    conf = Path(tempfile.gettempdir()) / "goldenpath-containers-engine.conf"
    if not conf.exists() or conf.read_text() != ENGINE_CONF:
        # Written whole under another name and renamed: a concurrent reader never sees half a file.
        partial = conf.with_name(f"{conf.name}.{os.getpid()}")
        partial.write_text(ENGINE_CONF)
        partial.replace(conf)
    return conf


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "CONTAINERS_CONF": str(containers_conf()),
        "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
    }


def sh(*command: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """A container tool command with this machine's containers.conf (CommandError on failure)."""
    return run(list(command), env=_env(), echo=False, check=check, timeout=timeout)


def debian_mirror() -> str:
    """The machine's own Debian mirror, read from its apt sources (never a hard-coded host)."""
    candidates: list[str] = []
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        candidates += re.findall(r"^URIs:\s*(\S+)", path.read_text(), flags=re.MULTILINE)
    sources = Path("/etc/apt/sources.list")
    if sources.exists():
        deb_line = r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)"
        candidates += re.findall(deb_line, sources.read_text(), flags=re.MULTILINE)
    for uri in candidates:
        if "security" not in uri:
            return uri
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list{,.d}")


def image_exists(name: str) -> bool:
    return sh("podman", "image", "exists", name, check=False).returncode == 0


def ensure_base_image() -> str:
    """The local stand-in for python:3.11-slim, built once per machine and then reused."""
    if image_exists(BASE_IMAGE):
        return BASE_IMAGE
    with tempfile.TemporaryDirectory(prefix="pybase-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        sh(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            SUITE,
            str(rootfs),
            debian_mirror(),
        )
        (rootfs / "usr/bin/python").symlink_to("python3")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        pipe = f"tar -C {shlex.quote(str(rootfs))} -c . | podman import - {BASE_IMAGE}"
        imported = sh("bash", "-o", "pipefail", "-c", pipe, check=False)
        if imported.returncode != 0:
            raise RuntimeError(f"podman import failed: {imported.stderr}")
    return BASE_IMAGE


def remove_image(name: str) -> None:
    sh("podman", "rmi", "--force", name, check=False)


@dataclass
class Container:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        done = sh("podman", "logs", self.name, check=False)
        return done.stdout + done.stderr

    def exec(self, *command: str) -> subprocess.CompletedProcess:
        return sh("podman", "exec", self.name, *command, check=False)


@contextmanager
def running(
    image: str,
    *,
    name: str,
    port: int,
    user: int,
    read_only: bool = True,
    env: dict[str, str] | None = None,
    volumes: tuple[str, ...] = (),
) -> Iterator[Container]:
    """Run image detached on the host network; always removes the container afterwards."""
    command = ["podman", *PODMAN_RUN_FLAGS, "run", "--detach", "--name", name, "--network", "host"]
    command += ["--user", str(user)]
    if read_only:
        command += ["--read-only", "--tmpfs", "/tmp"]
    for key, value in {"BENTOML_PORT": str(port), **(env or {})}.items():
        command += ["--env", f"{key}={value}"]
    for volume in volumes:
        command += ["--volume", volume]
    sh(*command, image)
    try:
        yield Container(name=name, port=port)
    finally:
        sh("podman", *PODMAN_RUN_FLAGS, "rm", "--force", "--time", "10", name, check=False)


def wait_http_200(url: str, container: Container, timeout_s: float = 120) -> float:
    """Seconds until url answered 200; raises with the container's logs on timeout."""
    import httpx

    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not 200 within {timeout_s}s:\n{container.logs()[-4000:]}")
