"""Re-resolve the generated repo's lock files: `make lock`.

Renders the default answers with `model_registry=none`, runs `uv lock --upgrade` there, and writes
the result back to templates/model-service/uv.lock.jinja with the project's own name templated.
Then the lock of `model_registry=mlflow` (templates/includes/uv-mlflow.lock, which uv.lock.jinja
includes for that answer) is derived from it with a plain `uv lock`: it adds MLflow and what it
needs and moves nothing else it does not have to. `--registry-only` derives only that second lock
from the committed first one. The locks resolve for every Python from 3.11 on, so one pair serves
every answer set; tests/test_render.py checks them with `uv lock --locked`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from goldenpath.render import render

TEMPLATE_LOCK = Path(__file__).resolve().parents[1] / "templates/model-service/uv.lock.jinja"
DEFAULT_NAME = "iris-classifier"
MLFLOW_LOCK = TEMPLATE_LOCK.parents[2] / "templates/includes/uv-mlflow.lock"
NAME_LINE = 'name = "{{ service_name }}"\n'
OWN_LINE = f'name = "{DEFAULT_NAME}"\n'
# uv.lock.jinja: the MLflow lock's include, then the plain lock (model_registry=none).
WRAPPER = re.compile(
    r"\A(\{% if model_registry == 'mlflow' %\}.*?\{% else %\}\n)(.*)(\{% endif %\}\n)\Z", re.S
)


def _templated(text: str) -> str:
    assert text.count(OWN_LINE) == 1, "the project's own entry must appear exactly once"
    return text.replace(OWN_LINE, NAME_LINE)


def _lock(answers: dict[str, str], seed: str | None, upgrade: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        repo = render(Path(tmp) / DEFAULT_NAME, answers)
        if seed is not None:
            (repo / "uv.lock").write_text(seed.replace(NAME_LINE, OWN_LINE))
        command = [sys.executable, "-m", "uv", "lock", *(["--upgrade"] if upgrade else [])]
        subprocess.run(command, cwd=repo, check=True)
        return _templated((repo / "uv.lock").read_text())


def relock(registry_only: bool = False) -> None:
    head, plain, tail = WRAPPER.match(TEMPLATE_LOCK.read_text()).groups()
    if not registry_only:
        plain = _lock({"model_registry": "none"}, None, upgrade=True)
        TEMPLATE_LOCK.write_text(head + plain + tail)
        print(f"wrote {TEMPLATE_LOCK}", file=sys.stderr)
    MLFLOW_LOCK.write_text(_lock({"model_registry": "mlflow"}, plain, upgrade=False))
    print(f"wrote {MLFLOW_LOCK}; run `make golden` and the tests", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry-only", action="store_true", help="derive only the mlflow lock")
    relock(parser.parse_args().registry_only)
