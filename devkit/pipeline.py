"""Running a generated repository's GitLab pipeline jobs for real, with gitlab-ci-local and podman.

gitlab-ci-local (npm, pinned in tests/schemas/) reads the repository's `.gitlab-ci.yml` and runs a
job as GitLab's Docker executor would: the committed files copied into a volume, the job's image,
its variables, cache, before_script and script. No container registry can be reached here, so:

- the Python job image the pipeline pins (`ghcr.io/astral-sh/uv:<uv>-python<x.y>-<debian>-slim`) is
  built locally from the debootstrap base of devkit.containers: the same Debian release and its
  Python, the tag's uv, and what the jobs call (make, git, promtool), and tagged with the pinned
  name, so the job definitions run unchanged. It is kept between runs and rebuilt when its recipe
  changes;
- the base itself, tagged `docker.io/firecow/gitlab-ci-local-util`, stands in for the helper image
  gitlab-ci-local runs to prepare the build volume (`sh -c`, `chown`, `chmod`).

The machine's package index settings reach the jobs as instance-level CI/CD variables (the global
section of gitlab-ci-local's home variables file), as a GitLab administrator behind a proxy would
set them: the index its uv uses (when not PyPI) as a variable, its CA bundle as File variables.
uv's downloads live in the podman volume gitlab-ci-local mounts for the jobs' cache
(`--mount-cache`, keyed by uv.lock as the job's `cache:` is), kept between runs as a runner keeps
its cache; older keys are removed.
gitlab-ci-local leaves its job containers and volumes behind: run_jobs removes those of its run,
told by a variable of the run in their environment. Stand-in builds take a machine-wide lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from devkit import containers
from devkit.schemas import SCHEMAS
from goldenpath.proc import run

GITLAB_CI_LOCAL = SCHEMAS / "node_modules" / ".bin" / "gitlab-ci-local"
UTIL_IMAGE = "docker.io/firecow/gitlab-ci-local-util"
# The project the test repositories stand for (gitlab-ci-local reads the remote `gcl-origin` first):
# its path names the jobs' cache volume, gcl-goldenpath-tests-pipeline-<key>.
PROJECT_REMOTE = "https://gitlab.invalid/goldenpath-tests/pipeline.git"
CACHE_VOLUME_PREFIX = "gcl-goldenpath-tests-pipeline-"
PINNED = re.compile(
    r"^ghcr\.io/astral-sh/uv:(?P<uv>\d+\.\d+\.\d+)-python(?P<python>\d+\.\d+)-(?P<debian>[a-z]+)-slim$"
)

# The stand-in for the pinned job image: what the `lint` and `test` jobs call besides uv and Python
# (make and git, which the job's before_script would install; promtool, which `make ci-tools`
# would), from the base's Debian release; uv from the wheel the machine's pip downloaded.
CONTAINERFILE = """\
FROM {base}
RUN apt-get update -qq \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
        make git prometheus >/dev/null \\
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY uv-wheel/ /tmp/uv-wheel/
RUN python3 -m venv /opt/uv \\
    && /opt/uv/bin/pip install --quiet --no-index --no-cache-dir /tmp/uv-wheel/*.whl \\
    && ln -s /opt/uv/bin/uv /opt/uv/bin/uvx /usr/local/bin/ \\
    && rm -rf /tmp/uv-wheel
"""
RECIPE_LABEL = "io.goldenpath.stand-in-recipe"


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    """This machine's stand-in builds, one at a time (other test workers and other checkouts wait):
    two builds of one tag must not race."""
    with open(Path(tempfile.gettempdir()) / "goldenpath-gitlab-ci-local.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        yield


def missing() -> list[str]:
    """What the runs need and is missing, each with the `make` target that installs it."""
    problems = []
    if not GITLAB_CI_LOCAL.exists():
        problems.append("gitlab-ci-local: `make schemas` installs it (tests/schemas/package.json)")
    for tool in ("node", "rsync"):
        if shutil.which(tool) is None:
            problems.append(f"{tool}: `make test` installs it (scripts/system-packages.sh)")
    for tool in containers.missing_tools():
        problems.append(f"{tool}: `make test` installs it (scripts/system-packages.sh)")
    return problems


@dataclass(frozen=True)
class JobImage:
    """The pinned Python job image: its name and what the name says it holds."""

    name: str
    uv: str
    python: str
    debian: str


def job_image(repo: Path, *jobs: str) -> JobImage:
    """The image the given jobs of repo's .gitlab-ci.yml run in (one image, pinned by version)."""
    config = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    variables = config.get("variables", {})
    names = set()
    for job in jobs:
        definition = config[job]
        image = definition.get("image")
        parents = definition.get("extends", [])
        for parent in [parents] if isinstance(parents, str) else parents:
            image = image or config[parent].get("image")
        names.add(re.sub(r"^\$(\w+)$", lambda m: variables[m[1]], image))
    assert len(names) == 1, f"jobs {jobs} run in different images: {names}"
    (name,) = names
    pinned = PINNED.match(name)
    assert pinned, f"{name} is not ghcr.io/astral-sh/uv:<uv version>-python<x.y>-<debian>-slim"
    return JobImage(name, pinned["uv"], pinned["python"], pinned["debian"])


def _uv_wheel(version: str, folder: Path) -> None:
    """uv's wheel, downloaded by the machine's pip with the machine's index settings."""
    folder.mkdir(parents=True)
    run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--dest", str(folder), f"uv=={version}"],
        echo=False,
        timeout=600,
    )  # fmt: skip


def _label(image: str) -> str:
    done = containers.sh(
        "podman", "image", "inspect", "--format", f'{{{{index .Labels "{RECIPE_LABEL}"}}}}', image
    )
    return done.stdout.strip()


def ensure_images(image: JobImage) -> None:
    """The stand-ins for the pinned job image and gitlab-ci-local's helper image, built once per
    machine and recipe."""
    with _one_at_a_time():
        _ensure_images(image)


def _ensure_images(image: JobImage) -> None:
    base = containers.ensure_base_image()
    if not containers.image_exists(UTIL_IMAGE):
        containers.sh("podman", "tag", base, UTIL_IMAGE)
    assert image.debian == containers.SUITE, (
        f"{image.name} is Debian {image.debian}; the local base is {containers.SUITE}"
    )
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    base_python = containers.sh(
        "podman", *containers.PODMAN_RUN_FLAGS, "run", "--rm", base, "python3", "-c", probe
    ).stdout.strip()
    assert base_python == image.python, (
        f"{image.name}: Python {image.python}, {base}: {base_python}"
    )
    containerfile = CONTAINERFILE.format(base=base)
    recipe = hashlib.sha256(f"{containerfile}{image.uv}".encode()).hexdigest()[:16]
    if containers.image_exists(image.name) and _label(image.name) == recipe:
        return
    with tempfile.TemporaryDirectory(prefix="gitlab-job-image-") as context:
        _uv_wheel(image.uv, Path(context) / "uv-wheel")
        (Path(context) / "Containerfile").write_text(containerfile)
        containers.sh(
            "buildah", "bud", "--isolation", "chroot", "--network", "host", "--quiet",
            "--label", f"{RECIPE_LABEL}={recipe}", "--tag", image.name, context,
        )  # fmt: skip


def _pip_config() -> dict[str, str]:
    """pip's configuration files' settings (`global.cert`, ...)."""
    done = run([sys.executable, "-m", "pip", "config", "list"], echo=False, check=False)
    settings = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if not key.startswith(":env:"):
            settings[key] = value.strip("'\"")
    return settings


def _uv_index() -> str | None:
    """The default index of uv's own configuration files (user, then system), if one is set."""
    home = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    for path in (home / "uv" / "uv.toml", Path("/etc/uv/uv.toml")):
        if path.is_file():
            config = tomllib.loads(path.read_text())
            defaults = [i["url"] for i in config.get("index", []) if i.get("default")]
            if config.get("index-url") or defaults:
                return config.get("index-url") or defaults[0]
    return None


def index_variables() -> dict[str, str]:
    """The machine's package index settings as CI/CD variables: the index its uv uses when it is not
    PyPI (UV_DEFAULT_INDEX or UV_INDEX_URL, or uv.toml's), its proxies, and its CA bundle as File
    variables (a path) for uv (SSL_CERT_FILE) and for the dependency audit's requests
    (REQUESTS_CA_BUNDLE), which reads no other."""
    variables = {}
    candidates = (os.environ.get("UV_DEFAULT_INDEX"), os.environ.get("UV_INDEX_URL"), _uv_index())
    index = next((url for url in candidates if url), None)
    if index and index.startswith(("http://", "https://")):  # a file:// index is not in the job
        variables["UV_INDEX_URL"] = index
    for proxy in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"):
        if os.environ.get(proxy):
            variables[proxy] = os.environ[proxy]
    bundles = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")
    ca = next(
        (os.environ[n] for n in bundles if os.environ.get(n)), _pip_config().get("global.cert")
    )
    if ca and Path(ca).is_file():
        variables["SSL_CERT_FILE"] = variables["REQUESTS_CA_BUNDLE"] = str(Path(ca).resolve())
    return variables


def prepare(repo: Path, home: Path) -> None:
    """Make repo (committed) a project of the test instance, whose CI/CD variables are in home."""
    run(["git", "remote", "add", "gcl-origin", PROJECT_REMOTE], cwd=repo, echo=False)
    settings = home / ".gitlab-ci-local" / "variables.yml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    # A value that is an absolute path becomes a File variable (its content, at a path in the job).
    settings.write_text(yaml.safe_dump({"global": index_variables()}))


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


def _volumes() -> set[str]:
    return set(containers.sh("podman", "volume", "ls", "--quiet").stdout.split())


def run_jobs(
    repo: Path,
    home: Path,
    *jobs: str,
    timeout: float = 900,
    variables: Mapping[str, str] | None = None,
) -> Run:
    """Run jobs of repo's committed pipeline as GitLab would (stage by stage), in podman;
    variables are set for the run, as a pipeline's own variables are (over the jobs')."""
    # A variable of this run only, in every job container's environment: how its leftovers are told
    # from those of a run beside it.
    tag = f"GOLDENPATH_TEST_RUN={uuid.uuid4().hex}"
    command = [str(GITLAB_CI_LOCAL), *jobs, "--container-executable", "podman"]
    command += ["--pull-policy", "if-not-present", "--mount-cache", "--home", str(home)]
    command += ["--variable", tag, "--no-color", "--timestamps"]
    for name, value in (variables or {}).items():
        command += ["--variable", f"{name}={value}"]
    env = {
        "CONTAINERS_CONF": str(containers.engine_conf()),
        "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
    }
    try:
        done = run(command, cwd=repo, env=env, echo=False, check=False, timeout=timeout)
    finally:
        _remove_leftovers(tag)
    return Run(done.returncode, done.stdout + done.stderr)


def _remove_leftovers(tag: str) -> None:
    """The job containers of the run whose environment has tag, and their volumes (gitlab-ci-local
    exits before it has removed them); then cache volumes of the test project other than the ones
    the run used."""
    ours = []
    for container in containers.sh("podman", "ps", "--all", "--quiet").stdout.split():
        found = containers.sh("podman", "container", "inspect", container, check=False)
        for details in json.loads(found.stdout) if found.returncode == 0 else []:
            if tag in (details.get("Config", {}).get("Env") or []):
                ours.append(details)
    mounted = {m.get("Name") for c in ours for m in c.get("Mounts") or [] if m.get("Name")}
    for container in ours:
        containers.sh("podman", "rm", "--force", container["Id"], check=False)
    volumes = sorted(v for v in mounted if re.fullmatch(r"gcl-.+-\d+-(build|tmp)", v))
    if volumes:
        containers.sh("podman", "volume", "rm", *volumes, check=False)
    # Not forced: a cache volume another run's job is using stays.
    used = {v for v in mounted if v.startswith(CACHE_VOLUME_PREFIX)}
    stale = [v for v in _volumes() if v.startswith(CACHE_VOLUME_PREFIX) and v not in used]
    for volume in stale if used else []:
        containers.sh("podman", "volume", "rm", volume, check=False)
