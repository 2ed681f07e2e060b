"""A generated repo, set up and trained, and its real `bentoml serve` on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from .project import commit_all, copy_project

START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class TrainedRepo:
    repo: Path
    env: dict[str, str]
    model_tag: str

    @property
    def package(self) -> str:
        return next((self.repo / "src").iterdir()).name


def make(repo: Path, *targets: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["make", *targets],
        cwd=repo,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (
        f"make {' '.join(targets)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def trained_repo(workdir: Path, **answers: object) -> TrainedRepo:
    """Render, commit, `make setup train` with a model store inside workdir."""
    repo = copy_project(workdir / "repo", **answers)
    commit_all(repo, "Scaffold")
    env = {"BENTOML_HOME": str(workdir / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    out = make(repo, "setup", "train", env=env)
    tag = next(line.split()[1] for line in out.splitlines() if line.startswith("registered "))
    return TrainedRepo(repo=repo, env=env, model_tag=tag)


@dataclass(frozen=True)
class Running:
    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def started(
    trained: TrainedRepo, log: Path, env: dict[str, str] | None = None, ready: bool = True
) -> Iterator[Running]:
    """`bentoml serve` of the trained repo; yields once /readyz is 200 (or, with ready=False, once
    it answers at all). Stopped with SIGTERM, as Kubernetes stops a pod."""
    port = free_port()
    command = [
        str(trained.repo / ".venv" / "bin" / "bentoml"),
        "serve",
        f"{trained.package}.service:ModelService",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    full_env = {**os.environ, **trained.env, **(env or {})}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=trained.repo, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"bentoml serve exited {process.returncode}:\n{log.read_text()}"
                )
            try:
                status = httpx.get(f"{url}/readyz", timeout=1).status_code
                if status == 200 or not ready:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready in {START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield Running(url=url, process=process, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(trained: TrainedRepo, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`bentoml serve` of the trained repo; yields its base URL once /readyz is 200."""
    with started(trained, log, env) as running:
        yield running.url
