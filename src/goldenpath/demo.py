"""`goldenpath demo`: scaffold, train, serve and query a model service, end to end.

Renders the template with its default answers into build/demo/, commits the new repo, trains and
registers the example model (in the repo's own model store, as `make` keeps it), serves it on a
free loopback port, sends a real prediction, prints the answer, and stops the server. Any failure
exits non-zero. A --workdir that holds anything but an earlier demo is refused, never emptied.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import TEMPLATE_ROOT
from .proc import CommandError, run
from .render import render

READY_TIMEOUT_S = 120
# Marks a folder as the demo's own, so that a later demo may empty it.
MARKER = ".goldenpath-demo"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "golden-path demo",
    "GIT_AUTHOR_EMAIL": "demo@localhost",
    "GIT_COMMITTER_NAME": "golden-path demo",
    "GIT_COMMITTER_EMAIL": "demo@localhost",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, payload: dict | None = None) -> tuple[int, dict, str]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_ready(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            if http("GET", f"{url}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"not ready after {READY_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextmanager
def make_serve(repo: Path, port: int, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """`make serve` of a trained repo on a loopback port, in a process group of its own; yields
    its URL once /readyz answers 200, and stops the whole group afterwards."""
    with log.open("w") as out:
        server = subprocess.Popen(
            ["make", "serve", f"PORT={port}"],
            cwd=repo,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, log)
        yield url
    finally:
        stop(server)


class NotADemoFolder(RuntimeError):
    """--workdir holds something the demo did not make."""


def prepare(workdir: Path) -> None:
    """An empty workdir: made, or emptied when an earlier demo made it; anything else refused."""
    if workdir.exists():
        if not workdir.is_dir():
            raise NotADemoFolder(f"--workdir {workdir} is a file, not a folder")
        if any(workdir.iterdir()) and not (workdir / MARKER).is_file():
            raise NotADemoFolder(
                f"--workdir {workdir} is not empty and is not an earlier demo (no {MARKER}):"
                " give an empty or new folder; nothing was deleted"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by `goldenpath demo`, which empties this folder\n")


def demo(workdir: Path) -> int:
    repo = workdir / "iris-classifier"
    # No BENTOML_HOME: the repo's Makefile keeps its model store in bentoml_home/, so a later
    # `make serve` from a plain shell finds the model trained here.
    env = {"BENTOML_DO_NOT_TRACK": "true"}
    prepare(workdir)

    print(f"1/5 scaffolding the default service into {repo}", flush=True)
    render(repo, src=TEMPLATE_ROOT)
    run(["git", "init", "-q", "-b", "main"], cwd=repo)
    run(["git", "add", "-A"], cwd=repo)
    run(
        ["git", "commit", "-q", "-m", "Scaffold from the golden-path template"],
        cwd=repo,
        env=GIT_IDENTITY,
    )

    print("2/5 installing the locked dependencies", flush=True)
    run(["make", "setup"], cwd=repo, env=env)

    print("3/5 training and registering the model", flush=True)
    trained = run(["make", "train"], cwd=repo, env=env)
    tag = next(
        line.removeprefix("registered ").strip()
        for line in trained.stdout.splitlines()
        if line.startswith("registered ")
    )
    print(trained.stdout.strip(), flush=True)

    # The request is the first example of the repo's model contract, as `make request` sends it.
    package = repo.name.replace("-", "_")
    example = run(
        ["uv", "run", "--locked", "--all-extras", "python", "-m", f"{package}.payloads"],
        cwd=repo,
        env=env,
    )
    sample = json.loads(example.stdout)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    print(f"4/5 serving {tag} on {url} (log: {log})", flush=True)
    with make_serve(repo, port, env, log):
        print(f"5/5 POST {url}/predict {json.dumps(sample)}", flush=True)
        status, headers, body = http("POST", f"{url}/predict", sample)
    if status != 200:
        print(f"prediction failed with HTTP {status}: {body}", file=sys.stderr)
        return 1
    print()
    print(f"prediction:     {body}")
    print(f"model tag:      {tag}")
    print(f"model version:  {headers.get('x-model-version')} (X-Model-Version header)")
    print(f"service repo:   {repo}")
    print(f"model store:    {repo / 'bentoml_home'}")
    print(f"server log:     {log}")
    print(f"the server has been stopped; `cd {repo} && make serve` starts it again")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="goldenpath demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("build") / "demo", help="%(default)s")
    args = parser.parse_args(argv)
    try:
        return demo(args.workdir.resolve())
    except NotADemoFolder as error:
        print(f"demo refused: {error}", file=sys.stderr)
        return 2
    except (CommandError, RuntimeError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
