"""Compiled files linked into uv's cache reach the next install, and Python takes them as current
(devkit/bytecode.py). The installs here link a wheel's files as uv does."""

import compileall
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from devkit import bytecode
from goldenpath.proc import run


def unpacked_wheel(archives: Path) -> Path:
    wheel = archives / "someid"
    (wheel / "pkg").mkdir(parents=True)
    (wheel / "pkg" / "__init__.py").write_text("VALUE = 42\n")
    (wheel / "pkg" / "data.txt").write_text("not Python\n")
    info = wheel / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    record = "pkg/__init__.py,,\npkg/data.txt,,\npkg-1.0.dist-info/METADATA,,\n../../../bin/pkg,,\n"
    (info / "RECORD").write_text(record)
    return wheel


def install(wheel: Path, packages: Path, link: bool = True) -> Path:
    """Every file of the unpacked wheel into packages, hard-linked (as uv does) or copied."""
    for source in sorted(wheel.rglob("*")):
        target = packages / source.relative_to(wheel)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif link:
            os.link(source, target)
        else:
            shutil.copy(source, target)
    return packages


def test_a_compiled_file_reaches_the_next_install_and_python_takes_it_as_current(tmp_path) -> None:
    archives = tmp_path / "cache" / "archive-v0"
    wheel = unpacked_wheel(archives)
    first = install(wheel, tmp_path / "first")
    assert compileall.compile_dir(first, quiet=1)
    assert bytecode.link_into_cache(first, archives) == 1
    assert bytecode.link_into_cache(first, archives) == 0  # once

    second = install(wheel, tmp_path / "second")
    source = second / "pkg" / "__init__.py"
    compiled = Path(importlib.util.cache_from_source(str(source)))
    assert compiled.is_file(), "the install did not bring the compiled file"
    env = {"PYTHONPATH": str(second), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-v", "-c", "import pkg; print(pkg.VALUE)"]
    done = run(command, env=env, echo=False)
    assert done.stdout.strip() == "42"
    assert f"# {compiled} matches {source}" in done.stderr, done.stderr[-2000:]


def test_a_copied_install_links_nothing(tmp_path) -> None:
    """Where uv copies (a cache on another file system), the sources are not the cache's own files:
    their compiled files would not match, and nothing is linked."""
    archives = tmp_path / "cache" / "archive-v0"
    wheel = unpacked_wheel(archives)
    copied = install(wheel, tmp_path / "copied", link=False)
    assert compileall.compile_dir(copied, quiet=1)
    assert bytecode.link_into_cache(copied, archives) == 0
    assert not (wheel / "pkg" / "__pycache__").exists()
