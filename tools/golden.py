"""The committed golden render of the default answers: tests/golden/default/.

`make golden` (python -m tools.golden) regenerates it; tests/render/test_golden.py fails when a
template change alters it without the golden being regenerated, so a reviewer sees in the diff
exactly what a change does to every team's repo.

The answers file's `_commit` and `_src_path` depend on where and at which commit the template was
rendered; they are written as fixed placeholders in the golden copy and compared that way (the
commit also where settings.py and the Makefile render it).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from goldenpath.args import ANSWERS_FILE
from goldenpath.render import render

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "default"
SYMLINK = "symlink -> "
PLACEHOLDERS = {"_commit": "<template commit>", "_src_path": "<template source>"}


# Never rendered: git's own, and the bytecode Python leaves beside a module a test ran or imported.
NOT_RENDERED = {".git", "__pycache__"}


def files_of(root: Path) -> list[Path]:
    """Every file and symlink below root, outside .git and __pycache__, relative to root, sorted."""
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*")
        if (path.is_file() or path.is_symlink())
        and not NOT_RENDERED.intersection(path.relative_to(root).parts)
    )


def read_entry(path: Path) -> str:
    """A file's text, or "symlink -> TARGET" for a symlink (not followed)."""
    return f"symlink -> {os.readlink(path)}" if path.is_symlink() else path.read_text()


def normalise(relative: Path, text: str, commit: str) -> str:
    if relative.as_posix() == ANSWERS_FILE:
        for key, placeholder in PLACEHOLDERS.items():
            text = re.sub(rf"^{key}: .*$", f"{key}: {placeholder}", text, flags=re.MULTILINE)
        return text
    # The version is also rendered into settings.py and the Makefile.
    return re.sub(rf"\b{re.escape(commit)}\b", PLACEHOLDERS["_commit"], text)


def render_default(dst: Path) -> dict[Path, str]:
    """Render the default answers into dst; return {relative path: normalised text}."""
    render(dst)
    commit = yaml.safe_load((dst / ANSWERS_FILE).read_text())["_commit"]
    return {rel: normalise(rel, read_entry(dst / rel), commit) for rel in files_of(dst)}


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
