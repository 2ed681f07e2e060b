"""The committed golden render of the default answers: tests/golden/default/.

`make golden` (python -m tests.support.golden) regenerates it; tests/test_golden.py fails when a
template change alters it without the golden being regenerated, so a reviewer sees in the diff
exactly what a change does to every team's repo.

The answers file's `_commit` and `_src_path` depend on where and at which commit the template was
rendered; they are written as fixed placeholders in the golden copy and compared that way.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from .project import copy_project, files_of, read_entry

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "default"
ANSWERS_FILE = ".copier-answers.yml"
SYMLINK = "symlink -> "
PLACEHOLDERS = {"_commit": "<template commit>", "_src_path": "<template source>"}


def normalise(relative: Path, text: str) -> str:
    if relative.as_posix() != ANSWERS_FILE:
        return text
    for key, placeholder in PLACEHOLDERS.items():
        text = re.sub(rf"^{key}: .*$", f"{key}: {placeholder}", text, flags=re.MULTILINE)
    return text


def render_default(dst: Path) -> dict[Path, str]:
    """Render the default answers into dst; return {relative path: normalised text}."""
    copy_project(dst)
    return {rel: normalise(rel, read_entry(dst / rel)) for rel in files_of(dst)}


def read_golden() -> dict[Path, str]:
    return {rel: read_entry(GOLDEN / rel) for rel in files_of(GOLDEN)}


def write_golden() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rendered = render_default(Path(tmp) / "render")
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    for rel, text in rendered.items():
        (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
        if text.startswith(SYMLINK):
            (GOLDEN / rel).symlink_to(text.removeprefix(SYMLINK))
        else:
            (GOLDEN / rel).write_text(text)
    print(f"wrote {len(rendered)} files to {GOLDEN}", file=sys.stderr)


if __name__ == "__main__":
    write_golden()
