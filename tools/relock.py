"""Re-resolve the generated repo's lock file: `make lock`.

Renders the default answers, runs `uv lock --upgrade` there, and writes the result back to
templates/model-service/uv.lock.jinja with the project's own name templated. The lock resolves for
every Python from 3.11 on, so one lock serves every answer set; tests/test_render.py checks it with
`uv lock --locked` for each of them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from goldenpath.render import render

TEMPLATE_LOCK = Path(__file__).resolve().parents[1] / "templates/model-service/uv.lock.jinja"
DEFAULT_NAME = "iris-classifier"


def relock() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = render(Path(tmp) / DEFAULT_NAME)
        subprocess.run([sys.executable, "-m", "uv", "lock", "--upgrade"], cwd=repo, check=True)
        text = (repo / "uv.lock").read_text()
    own = f'name = "{DEFAULT_NAME}"\n'
    assert text.count(own) == 1, "the project's own entry must appear exactly once"
    TEMPLATE_LOCK.write_text(text.replace(own, 'name = "{{ service_name }}"\n'))
    print(f"wrote {TEMPLATE_LOCK}; run `make golden` and the tests", file=sys.stderr)


if __name__ == "__main__":
    relock()
