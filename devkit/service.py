"""A generated repo, set up and trained, and its real `bentoml serve` on a free loopback port.

Training and serving are goldenpath.localservice's (shared with the demo and the benchmarks);
what only the tests need is here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from goldenpath.localservice import Server, TrainedRepo, free_port, started, trained_repo
from goldenpath.proc import run

__all__ = ["Server", "TrainedRepo", "free_port", "serving", "started", "trained_repo"]


def make(repo: Path, *targets: str, env: dict[str, str] | None = None) -> str:
    """make's stdout; CommandError with the end of its output when it fails."""
    return run(["make", *targets], cwd=repo, env=env, echo=False).stdout


def example_requests(trained: TrainedRepo) -> list[dict]:
    """The examples of the trained repo's model contract, read through its own environment."""
    code = (
        f"import json; from {trained.package}.model import CONTRACT;"
        " print(json.dumps(CONTRACT.examples))"
    )
    python = str(trained.repo / ".venv" / "bin" / "python")
    done = run([python, "-c", code], cwd=trained.repo, env=trained.env, echo=False)
    return json.loads(done.stdout)


@contextmanager
def serving(trained: TrainedRepo, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`bentoml serve` of the trained repo; yields its base URL once /readyz is 200."""
    with started(trained, log, env) as running:
        yield running.url
