"""Image size and cold start: the generated Dockerfile against BentoML's own (`make bench-image`).

Both images are built in this one run on the same local base image, from the same rendered and
trained default service; the figure compared is the size each adds above that base. Cold start is
the time from `podman run` to the first `/readyz` 200, median of RUNS starts.

BentoML's generated Dockerfile hard-codes `FROM python:3.11-slim`, which cannot be pulled here; the
harness points it at the same local base and, because that base has no pip (the slim image does),
adds python3-pip to its apt line, lets pip install into the system Python, and points uv at the
system CA bundle (the machine's package index sits behind a TLS proxy). Those are the only edits.
Its bento does not carry our model (the service loads it from the store by tag), so the run mounts
the model store read-only for the cold start; the model adds kilobytes.

Where our image's weight goes is listed with it (read inside the image, with its own Python): each
folder the Dockerfile copies into the runtime stage (buildah commits a stage as one layer, so the
layers say nothing more), and each installed distribution in its /opt/venv, the files its RECORD
lists plus the bytecode compiled beside them, largest first.

Writes benchmarks/results/image.json and image.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

from devkit import containers
from devkit.machine import load_average, machine, now, package_versions, tool_version
from devkit.project import commit_all, copy_project
from goldenpath.proc import run

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / "work" / "image"  # no dot: BentoML refuses hidden paths
RESULTS = ROOT / "benchmarks" / "results"
RUNS = 3
GOAL_RATIO = 0.35
GOAL_COLD_START_S = 3.0
TOP_PACKAGES = 15
# Run inside the image: bytes per folder the runtime stage copies, and per installed distribution,
# the files its RECORD lists plus every file under the top-level folders it owns (the .pyc files
# compileall wrote are not in RECORD).
WEIGHTS = """
import importlib.metadata, json, os, sys
def tree(top):
    return sum(os.lstat(os.path.join(d, n)).st_size for d, _, ns in os.walk(top) for n in ns)
folders = {top: tree(top) for top in ("/opt/venv", "/opt/bentoml", "/opt/config")}
site = next(p for p in sys.path if p.endswith("site-packages"))
sizes = {}
for dist in importlib.metadata.distributions(path=[site]):
    files, tops = set(), set()
    for name in dist.files or []:
        path = os.path.normpath(os.path.join(site, str(name)))
        files.add(path)
        top = str(name).split("/")[0]
        if not top.startswith("..") and os.path.isdir(os.path.join(site, top)):
            tops.add(os.path.join(site, top))
    for top in tops:
        for folder, _, names in os.walk(top):
            files.update(os.path.join(folder, n) for n in names)
    sizes[dist.metadata["Name"]] = sum(os.lstat(f).st_size for f in files if os.path.lexists(f))
print(json.dumps({"folders": folders, "packages": sizes}))
"""
BENTOFILE = """\
service: "{package}.service:ModelService"
include:
  - "{package}/*.py"
python:
  requirements_txt: "./requirements-bench.txt"
"""


def sh(*command: str, cwd: Path | None = None, env: dict | None = None) -> str:
    return run(list(command), cwd=cwd, env=env).stdout


def image_size(image: str) -> int:
    return json.loads(containers.sh("podman", "image", "inspect", image).stdout)[0]["Size"]


def cold_start(image: str, *, user: int, read_only: bool, volumes: tuple[str, ...] = ()) -> float:
    """Seconds from `podman run` to the first /readyz 200."""
    port = containers_free_port()
    name = f"goldenpath-bench-{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    with containers.running(
        image, name=name, port=port, user=user, read_only=read_only, volumes=volumes
    ) as run:
        containers.wait_http_200(f"{run.url}/readyz", run, timeout_s=180)
        return round(time.monotonic() - start, 3)


def cold_starts(ours: dict, theirs: dict) -> tuple[list[float], list[float], list[float]]:
    """RUNS cold starts of each image, interleaved (ours, theirs, ours, ...), and the one-minute
    load average before each pair: this machine is shared."""
    times: tuple[list[float], list[float], list[float]] = ([], [], [])
    for _ in range(RUNS):
        times[2].append(round(load_average(), 2))
        times[0].append(cold_start(**ours))
        times[1].append(cold_start(**theirs))
    return times


def containers_free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def weights(image: str) -> tuple[dict[str, float], list[dict]]:
    """MB per folder the runtime stage copies, and per distribution in /opt/venv, largest first."""
    out = containers.sh(
        "podman", "run", "--rm", "--entrypoint", "/opt/venv/bin/python", image, "-c", WEIGHTS
    ).stdout
    read = json.loads(out)
    folders = {name: round(size / 1e6, 1) for name, size in read["folders"].items()}
    packages = [
        {"package": name, "mb": round(size / 1e6, 1)}
        for name, size in sorted(read["packages"].items(), key=lambda item: -item[1])
    ]
    return folders, packages


def build_bentoml_image(repo: Path, env: dict, base: str, image: str) -> None:
    package = "iris_classifier"
    # The build context is src/, so the bento imports the package as the service does.
    (repo / "src" / "bentofile.yaml").write_text(BENTOFILE.format(package=package))
    requirements = sh(
        "uv",
        "export",
        "--locked",
        "--no-dev",
        "--no-hashes",
        "--no-emit-project",
        "--format",
        "requirements-txt",
        cwd=repo,
    )
    (repo / "src" / "requirements-bench.txt").write_text(requirements)
    sh(str(repo / ".venv/bin/bentoml"), "build", "src", cwd=repo, env=env)
    (bento,) = Path(env["BENTOML_HOME"], "bentos", "iris-classifier").glob(
        "*/env/docker/Dockerfile"
    )
    dockerfile = bento.read_text()
    assert "FROM python:3.11-slim AS base-container" in dockerfile, "BentoML's Dockerfile changed"
    dockerfile = dockerfile.replace(
        "FROM python:3.11-slim AS base-container",
        f"FROM {base} AS base-container\n"
        "ENV PIP_BREAK_SYSTEM_PACKAGES=1 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    ).replace("bash build-essential git", "bash build-essential git python3-pip")
    bento.write_text(dockerfile)
    ca = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    volume = ["--volume", f"{ca}:/etc/ssl/certs/ca-certificates.crt:ro"] if ca else []
    sh(
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--network",
        "host",
        *volume,
        "-f",
        str(bento),
        "-t",
        image,
        str(bento.parents[2]),
    )


def main() -> int:
    missing = containers.missing_tools()
    if missing:
        raise SystemExit(f"missing {missing}: run `make system-packages`")
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    repo = copy_project(WORK / "iris-classifier")
    commit_all(repo, "Scaffold")
    env = {"BENTOML_HOME": str(WORK / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    sh("make", "setup", "train", cwd=repo, env=env)
    base = containers.ensure_base_image()
    ours, theirs = (
        f"localhost/goldenpath-bench-{n}:{uuid.uuid4().hex[:8]}" for n in ("ours", "bentoml")
    )
    try:
        started = time.monotonic()
        sh("make", "image", f"BASE_IMAGE={base}", f"IMAGE={ours}", cwd=repo, env=env)
        ours_build_s = round(time.monotonic() - started, 1)
        started = time.monotonic()
        build_bentoml_image(repo, env, base, theirs)
        theirs_build_s = round(time.monotonic() - started, 1)
        base_size = image_size(base)
        ours_folders, ours_packages = weights(ours)
        ours_added = image_size(ours) - base_size
        theirs_added = image_size(theirs) - base_size
        readable = WORK / "models-readable"  # the store's own dirs are private to root
        shutil.copytree(Path(env["BENTOML_HOME"]) / "models", readable)
        sh("chmod", "-R", "a+rX", str(readable))
        models = f"{readable}:/home/bentoml/models:ro"
        ours_starts, theirs_starts, loads = cold_starts(
            {"image": ours, "user": 10001, "read_only": True},
            {"image": theirs, "user": 1034, "read_only": False, "volumes": (models,)},
        )
    finally:
        for image in (ours, theirs):
            containers.remove_image(image)

    ratio = ours_added / theirs_added
    result = {
        "machine": machine(),
        "versions": {
            "bentoml": sh(
                str(repo / ".venv/bin/python"), "-c", "import bentoml; print(bentoml.__version__)"
            ).strip(),
            **package_versions("copier"),
            "buildah": tool_version("buildah", "--version"),
            "podman": tool_version("podman", "--version"),
        },
        "date": now(),
        "base_image": base,
        "base_mb": round(base_size / 1e6, 1),
        "generated": {
            "added_mb": round(ours_added / 1e6, 1),
            "build_s": ours_build_s,
            "cold_start_s": ours_starts,
            "cold_start_median_s": statistics.median(ours_starts),
            "folders": ours_folders,
            "packages": ours_packages,
        },
        "bentoml_dockerfile": {
            "added_mb": round(theirs_added / 1e6, 1),
            "build_s": theirs_build_s,
            "cold_start_s": theirs_starts,
            "cold_start_median_s": statistics.median(theirs_starts),
        },
        "added_ratio": round(ratio, 3),
        "load_average_before_each_pair": loads,
        "goals": {
            "added_ratio_at_most": GOAL_RATIO,
            "added_ratio_met": ratio <= GOAL_RATIO,
            "cold_start_s_at_most": GOAL_COLD_START_S,
            "cold_start_met": statistics.median(ours_starts) <= GOAL_COLD_START_S,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "image.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "image.md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(r: dict) -> str:
    m, goals = r["machine"], r["goals"]
    packages = r["generated"]["packages"]
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
    rows = []
    for label, key in (("generated Dockerfile", "generated"), ("BentoML's", "bentoml_dockerfile")):
        x = r[key]
        rows.append(
            f"| {label} | {x['added_mb']} MB | {x['build_s']} s "
            f"| {x['cold_start_median_s']} s (runs: {x['cold_start_s']}) |"
        )
    ratio_met = "met" if goals["added_ratio_met"] else "NOT met"
    start_met = "met" if goals["cold_start_met"] else "NOT met"
    return "\n".join(
        [
            "# Image size and cold start",
            "",
            f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB",
            f"({m['os']}). Versions: {versions}.",
            f"Both images built in the same run on `{r['base_image']}` ({r['base_mb']} MB).",
            "",
            "| image | added above base | build | cold start to /readyz 200 (median) |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Ours adds {r['added_ratio']:.1%} of what BentoML's adds "
            f"(goal at most {goals['added_ratio_at_most']:.0%}: {ratio_met}).",
            f"Cold start goal {goals['cold_start_s_at_most']} s: {start_met}. Cold starts "
            f"interleaved (ours, BentoML's, ...); one-minute load average before each pair: "
            f"{r['load_average_before_each_pair']}.",
            "",
            "Where ours goes: the folders its runtime stage copies",
            "",
            "| folder | MB |",
            "|---|---|",
            *(f"| {name} | {mb} |" for name, mb in r["generated"]["folders"].items()),
            "",
            f"The {TOP_PACKAGES} largest distributions in its /opt/venv (files and bytecode), of "
            f"{len(packages)} ({sum(x['mb'] for x in packages):.1f} MB in all):",
            "",
            "| package | MB |",
            "|---|---|",
            *(f"| {x['package']} | {x['mb']} |" for x in packages[:TOP_PACKAGES]),
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
