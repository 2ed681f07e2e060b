"""A generated repository trained and served on this machine: the one way the demo, the template
repo's tests and its benchmarks scaffold a repo, train its model and run a real server.

A server runs on a free loopback port, is ready once `/readyz` answers 200 and is stopped with
SIGTERM, as Kubernetes stops a pod (SIGKILL only if it is still up after 30 s).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .proc import run
from .render import render

READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
# BentoML picks free ports for its own sockets by closing a probe socket and binding later; under
# load another process can take the port in between. Only that failure is retried.
PORT_CLASH = "Address already in use"
START_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    method: str, url: str, payload: Any = None, timeout: float = 10
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of one request; a JSON payload when given."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def scaffold(
    repo: Path,
    answers: Mapping[str, Any],
    identity: Mapping[str, str],
    message: str = "Scaffold",
    **render_args: Any,
) -> Path:
    """Render the template into repo and commit it as `main` (identity: GIT_AUTHOR_* variables);
    render_args go to goldenpath.render.render (src, vcs_ref)."""
    render(repo, answers, **render_args)
    run(["git", "init", "-q", "-b", "main"], cwd=repo, echo=False)
    run(["git", "add", "-A"], cwd=repo, echo=False)
    run(["git", "commit", "-q", "-m", message], cwd=repo, env=identity, echo=False)
    return repo


def registered_tag(make_output: str) -> str:
    """The model tag `make train` printed (`registered <name>:<version>`)."""
    return next(
        line.removeprefix("registered ").split()[0]
        for line in make_output.splitlines()
        if line.startswith("registered ")
    )


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    group: bool

    def stop(self) -> None:
        """SIGTERM (to the whole process group when the server has one), SIGKILL after 30 s."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait()

    def _signal(self, number: int) -> None:
        try:
            if self.group:
                os.killpg(self.process.pid, number)
            else:
                self.process.send_signal(number)
        except ProcessLookupError:
            pass


def start(
    command: Callable[[int], Sequence[str]],
    *,
    cwd: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready: bool = True,
    group: bool = False,
) -> Server:
    """Run command(port) on a free port, its output in log, until /readyz answers 200 (or answers
    at all, with ready=False). group=True starts it in a process group of its own, stopped as a
    whole (for `make serve`, whose children make does not signal). env is the whole environment
    (default: this process's). A start that loses a port race is retried; any other early exit,
    or no answer in 120 s, raises RuntimeError with the end of the log."""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                list(command(port)),
                cwd=cwd,
                env=dict(os.environ if env is None else env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=group,
            )
        server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log, group=group)
        if _wait_until_up(server, ready):
            return server
    raise RuntimeError(f"the server lost its ports {START_ATTEMPTS} times:\n{_tail(log)}")


def _wait_until_up(server: Server, ready: bool) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if server.process.poll() is not None:
            if PORT_CLASH in server.log.read_text():
                server.stop()  # a group may hold children that did bind
                return False
            raise RuntimeError(
                f"the server exited with {server.process.returncode}:\n{_tail(server.log)}"
            )
        try:
            if http("GET", f"{server.url}/readyz", timeout=1)[0] == 200 or not ready:
                return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"not ready after {READY_TIMEOUT_S}s:\n{_tail(server.log)}")
        time.sleep(0.2)


def _tail(log: Path) -> str:
    return log.read_text()[-4000:]


@contextmanager
def serving(
    command: Callable[[int], Sequence[str]],
    *,
    cwd: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready: bool = True,
    group: bool = False,
) -> Iterator[Server]:
    """start(...), yielding the running server; stopped afterwards whatever happens."""
    server = start(command, cwd=cwd, log=log, env=env, ready=ready, group=group)
    try:
        yield server
    finally:
        server.stop()


def make_serve(port: int) -> list[str]:
    """The command of a repo's `make serve` on a given port (run it with group=True)."""
    return ["make", "serve", f"PORT={port}"]


def bentoml_serve(repo: Path, package: str) -> Callable[[int], list[str]]:
    """The command of the repo's own `bentoml serve` on 127.0.0.1 and a given port."""
    bentoml = str(repo / ".venv" / "bin" / "bentoml")
    target = f"{package}.service:ModelService"
    return lambda port: [bentoml, "serve", target, "--host", "127.0.0.1", "--port", str(port)]


# Who commits a scaffold made for tests and benchmarks (the demo has its own).
LOCAL_IDENTITY = {
    "GIT_AUTHOR_NAME": "goldenpath",
    "GIT_AUTHOR_EMAIL": "goldenpath@localhost",
    "GIT_COMMITTER_NAME": "goldenpath",
    "GIT_COMMITTER_EMAIL": "goldenpath@localhost",
}


@dataclass(frozen=True)
class TrainedRepo:
    """A rendered, committed repo after `make setup train`, its model store in env."""

    repo: Path
    env: dict[str, str]
    model_tag: str

    @property
    def package(self) -> str:
        return next((self.repo / "src").iterdir()).name


def trained_repo(workdir: Path, vcs_ref: str = "HEAD", **answers: Any) -> TrainedRepo:
    """Render the template (its working tree, or the commit or tag vcs_ref of this checkout) into
    workdir/repo, commit, `make setup train` with the model store in workdir/bentoml."""
    repo = scaffold(workdir / "repo", answers, LOCAL_IDENTITY, vcs_ref=vcs_ref)
    env = {"BENTOML_HOME": str(workdir / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    out = run(["make", "setup", "train"], cwd=repo, env=env, echo=False).stdout
    return TrainedRepo(repo=repo, env=env, model_tag=registered_tag(out))


@contextmanager
def started(
    trained: TrainedRepo, log: Path, env: Mapping[str, str] | None = None, ready: bool = True
) -> Iterator[Server]:
    """`bentoml serve` of the trained repo; yields once /readyz is 200 (or, with ready=False, once
    it answers at all). Stopped with SIGTERM, as Kubernetes stops a pod."""
    full_env = {**os.environ, **trained.env, **(env or {})}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = bentoml_serve(trained.repo, trained.package)
    with serving(command, cwd=trained.repo, log=log, env=full_env, ready=ready) as server:
        yield server
