"""A generated repo, set up and trained, and its real `bentoml serve` on a free loopback port."""

from __future__ import annotations

import json
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


def example_requests(trained: TrainedRepo) -> list[dict]:
    """The examples of the trained repo's model contract, read through its own environment."""
    code = (
        f"import json; from {trained.package}.model import CONTRACT;"
        " print(json.dumps(CONTRACT.examples))"
    )
    done = subprocess.run(
        [str(trained.repo / ".venv" / "bin" / "python"), "-c", code],
        cwd=trained.repo,
        env={**os.environ, **trained.env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Running:
    url: str
    process: subprocess.Popen
    log: Path


def launch(
    trained: TrainedRepo, log: Path, env: dict[str, str] | None, ready: bool
) -> tuple[subprocess.Popen, str]:
    """Start `bentoml serve`, up to three times: BentoML picks free ports for its own sockets by
    closing a probe socket and binding later, and under load another process can take the port
    in between ("Address already in use"). Any other early exit fails at once."""
    for _ in range(3):
        process, url = start_once(trained, log, env)
        if wait_until_up(process, url, log, ready):
            return process, url
    raise AssertionError(f"bentoml serve could not bind its ports 3 times:\n{log.read_text()}")


def start_once(
    trained: TrainedRepo, log: Path, env: dict[str, str] | None
) -> tuple[subprocess.Popen, str]:
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
    return process, f"http://127.0.0.1:{port}"


def wait_until_up(process: subprocess.Popen, url: str, log: Path, ready: bool) -> bool:
    """True once /readyz is 200 (or answers at all, with ready=False); False if the server died of
    a port clash; raises on any other exit or on the deadline."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            if "Address already in use" in log.read_text():
                return False
            raise AssertionError(f"bentoml serve exited {process.returncode}:\n{log.read_text()}")
        try:
            status = httpx.get(f"{url}/readyz", timeout=1).status_code
            if status == 200 or not ready:
                return True
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"not ready in {START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


@contextmanager
def started(
    trained: TrainedRepo, log: Path, env: dict[str, str] | None = None, ready: bool = True
) -> Iterator[Running]:
    """`bentoml serve` of the trained repo; yields once /readyz is 200 (or, with ready=False, once
    it answers at all). Stopped with SIGTERM, as Kubernetes stops a pod."""
    process, url = launch(trained, log, env, ready)
    try:
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
