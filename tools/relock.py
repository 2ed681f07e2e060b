"""Re-resolve the generated repo's lock file: `make lock` (`make lock UPGRADE=1` to upgrade).

Renders the default answers from this checkout, runs `uv lock` there (with `--upgrade` when
asked: every package to its newest allowed release), and writes the result back to
templates/model-service/uv.lock.jinja of the same checkout, with the project's own name
templated. Without UPGRADE, the locked versions stay and only what pyproject.toml.jinja added or
removed is resolved. The lock resolves for every Python from 3.11 on, so one lock serves every
answer set; tests/render/test_render.py checks it with `uv lock --locked` for each of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from goldenpath.proc import run
from goldenpath.render import render

# This file is tools/relock.py: the checkout is its folder's parent.
ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_LOCK = Path("templates/model-service/uv.lock.jinja")
DEFAULT_NAME = "iris-classifier"


def template_lock(root: Path) -> Path:
    """The template's lock in the checkout at root; a clear error when root is not one."""
    lock = root / TEMPLATE_LOCK
    if not (root / "copier.yml").is_file() or not lock.is_file():
        raise SystemExit(f"{root} is not a template checkout: {TEMPLATE_LOCK} is not there")
    return lock


def relock(root: Path = ROOT, upgrade: bool = False) -> Path:
    lock = template_lock(root)
    with tempfile.TemporaryDirectory() as tmp:
        repo = render(Path(tmp) / DEFAULT_NAME, src=root)
        command = [sys.executable, "-m", "uv", "lock", *(["--upgrade"] if upgrade else [])]
        run(command, cwd=repo)
        text = (repo / "uv.lock").read_text()
    own = f'name = "{DEFAULT_NAME}"\n'
    if text.count(own) != 1:
        raise SystemExit(f"the project's own entry {own.strip()!r} must appear exactly once")
    lock.write_text(text.replace(own, 'name = "{{ service_name }}"\n'))
    print(f"wrote {lock}; run `make golden` and the tests", file=sys.stderr)
    return lock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="upgrade every locked package")
    relock(upgrade=parser.parse_args().upgrade)


if __name__ == "__main__":
    main()
