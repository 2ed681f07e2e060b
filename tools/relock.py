"""Re-resolve the generated repo's lock files: `make lock` (`make lock UPGRADE=1` to upgrade).

Renders the default answers with `model_registry=none` from this checkout, runs `uv lock` there
(with `--upgrade` when asked: every package to its newest allowed release), and writes the result
back to templates/model-service/uv.lock.jinja of the same checkout, with the project's own name
templated. Without UPGRADE, the locked versions stay and only what pyproject.toml.jinja added or
removed is resolved. Then the lock of `model_registry=mlflow` (templates/includes/uv-mlflow.lock,
which uv.lock.jinja includes for that answer) is derived from that one with a plain `uv lock`: it
adds MLflow and what it needs and moves nothing else it does not have to. `--registry-only`
derives only the MLflow lock from the committed plain one. The locks resolve for every Python
from 3.11 on, so one pair serves every answer set; tests/render/test_render.py checks them with
`uv lock --locked` for each of them.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from goldenpath.proc import run
from goldenpath.render import render

# This file is tools/relock.py: the checkout is its folder's parent.
ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_LOCK = Path("templates/model-service/uv.lock.jinja")
MLFLOW_LOCK = Path("templates/includes/uv-mlflow.lock")
DEFAULT_NAME = "iris-classifier"
NAME_LINE = 'name = "{{ service_name }}"\n'
OWN_LINE = f'name = "{DEFAULT_NAME}"\n'
# uv.lock.jinja: the MLflow lock's include, then the plain lock (model_registry=none).
WRAPPER = re.compile(
    r"\A(\{% if model_registry == 'mlflow' %\}.*?\{% else %\}\n)(.*)(\{% endif %\}\n)\Z", re.S
)


def template_lock(root: Path) -> Path:
    """The template's lock in the checkout at root; a clear error when root is not one."""
    lock = root / TEMPLATE_LOCK
    if not (root / "copier.yml").is_file() or not lock.is_file():
        raise SystemExit(f"{root} is not a template checkout: {TEMPLATE_LOCK} is not there")
    return lock


def _templated(text: str) -> str:
    if text.count(OWN_LINE) != 1:
        raise SystemExit(f"the project's own entry {OWN_LINE.strip()!r} must appear exactly once")
    return text.replace(OWN_LINE, NAME_LINE)


def _lock(root: Path, answers: dict[str, str], seed: str | None, upgrade: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        repo = render(Path(tmp) / DEFAULT_NAME, answers, src=root)
        if seed is not None:
            (repo / "uv.lock").write_text(seed.replace(NAME_LINE, OWN_LINE))
        command = [sys.executable, "-m", "uv", "lock", *(["--upgrade"] if upgrade else [])]
        run(command, cwd=repo)
        return _templated((repo / "uv.lock").read_text())


def relock(root: Path = ROOT, upgrade: bool = False, registry_only: bool = False) -> Path:
    lock = template_lock(root)
    wrapped = WRAPPER.match(lock.read_text())
    if wrapped is None:
        raise SystemExit(f"{lock} does not include {MLFLOW_LOCK} for model_registry=mlflow")
    head, plain, tail = wrapped.groups()
    if not registry_only:
        # The plain lock first, seeded with itself: without UPGRADE nothing moves needlessly.
        plain = _lock(root, {"model_registry": "none"}, plain, upgrade)
        lock.write_text(head + plain + tail)
        print(f"wrote {lock}", file=sys.stderr)
    mlflow_lock = root / MLFLOW_LOCK
    mlflow_lock.write_text(_lock(root, {"model_registry": "mlflow"}, plain, upgrade=False))
    print(f"wrote {mlflow_lock}; run `make golden` and the tests", file=sys.stderr)
    return lock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="upgrade every locked package")
    parser.add_argument("--registry-only", action="store_true", help="derive only the mlflow lock")
    args = parser.parse_args()
    relock(upgrade=args.upgrade, registry_only=args.registry_only)


if __name__ == "__main__":
    main()
