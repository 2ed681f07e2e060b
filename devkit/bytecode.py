"""Compiled bytecode shared by every generated environment of a test run.

uv installs a wheel by hard-linking the files it unpacked into its cache, so the virtual
environments of the generated repos share their libraries' source files. Python compiles a module on
its first import and writes the result into that one environment: each of the twenty or so
environments a run creates compiled bentoml, scikit-learn, pandas and the rest again (7.6 s of a
first `make train`'s 11.8 s; 4.2 s once compiled). uv cannot keep compiled files in its cache
(astral-sh/uv#18668, open). So, once per run: render the default answers, `make setup`, compile the
environment's libraries and link each compiled file beside its source in uv's cache. Later installs
link the `__pycache__` folders with the rest, and Python finds the files current (their header holds
the source's modification time and size, and the source is the same file).

What this adds to uv's cache is `__pycache__` folders inside its unpacked wheels, named for the
interpreter (`uv cache clean` removes them with the rest). Where uv copies instead of linking (a
cache on another file system), nothing is linked here and Python compiles as before.
"""

from __future__ import annotations

import os
from pathlib import Path

from goldenpath.proc import run


def cache_archives() -> Path:
    """uv's folder of unpacked wheels (the cache `uv` on PATH uses)."""
    return Path(run(["uv", "cache", "dir"], echo=False).stdout.strip()) / "archive-v0"


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"{venv}: expected one lib/python3*/site-packages, found {found}")
    return found[0]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _archives_by_dist(archives: Path) -> dict[str, list[Path]]:
    """Each `<name>-<version>.dist-info` folder name in the cache -> the wheels unpacked with it."""
    found: dict[str, list[Path]] = {}
    with os.scandir(archives) as wheels:
        for wheel in wheels:
            if not wheel.is_dir():
                continue
            with os.scandir(wheel.path) as entries:
                for entry in entries:
                    if entry.name.endswith(".dist-info"):
                        found.setdefault(entry.name, []).append(Path(wheel.path))
    return found


def link_into_cache(packages: Path, archives: Path) -> int:
    """Link every compiled file of packages (a site-packages folder installed by uv) beside its
    source in archives, where the source is the cache's own file. Returns how many were linked."""
    by_dist = _archives_by_dist(archives)
    linked = 0
    for info in sorted(packages.glob("*.dist-info")):
        origin = next(
            (
                w
                for w in by_dist.get(info.name, [])
                if _same_file(info / "METADATA", w / info.name / "METADATA")
            ),
            None,
        )
        if origin is None:  # the project itself (editable), or a copy rather than a link
            continue
        for line in (info / "RECORD").read_text().splitlines():
            relative = line.split(",", 1)[0]
            if not relative.endswith(".py") or relative.startswith(".."):
                continue
            source, cached = packages / relative, origin / relative
            if not _same_file(source, cached):
                continue
            for compiled in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
                target = cached.parent / "__pycache__" / compiled.name
                if target.exists():
                    continue
                target.parent.mkdir(exist_ok=True)
                try:
                    os.link(compiled, target)
                except FileExistsError:  # another process linked it first
                    continue
                linked += 1
    return linked


def share(repo: Path) -> int:
    """Compile repo/.venv's libraries (those not compiled yet) and link them into uv's cache."""
    packages = site_packages(repo / ".venv")
    compile_all = [str(repo / ".venv" / "bin" / "python"), "-m", "compileall", "-q", "-j", "0"]
    # Timestamp checks: what uv links is the same source file, so its time and size match. (With
    # SOURCE_DATE_EPOCH set, compileall would default to hash checks, paid on every import.)
    compile_all += ["--invalidation-mode", "timestamp", str(packages)]
    # Some libraries ship files that are not Python 3 (templates, test data): compileall reports
    # them and goes on; what compiled is kept. (It writes regardless of PYTHONDONTWRITEBYTECODE.)
    run(compile_all, echo=False, check=False)
    return link_into_cache(packages, cache_archives())
