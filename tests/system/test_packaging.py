"""`pipx install` of this repository gives a working CLI: the package, installed (not editable)
into a throw-away environment and run far from any checkout, carries the template itself."""

import os
import subprocess
import sys
from pathlib import Path

from devkit.releases import copy_working_tree
from tools.golden import GOLDEN, files_of

ROOT = Path(__file__).resolve().parents[2]


def test_an_installed_goldenpath_renders_and_verifies_outside_a_checkout(tmp_path) -> None:
    venv = tmp_path / "venv"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True)
    # A real install of the repository (a wheel built from it, dependencies resolved), as pipx does;
    # from a copy of its files, so the build writes nothing into this checkout.
    source = tmp_path / "source"
    copy_working_tree(source)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(source)],
        check=True,
    )
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)

    def installed(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=away, env=env, capture_output=True, text=True)

    version = installed(str(venv / "bin" / "goldenpath"), "--version")
    assert version.returncode == 0 and version.stdout.startswith("goldenpath "), version.stderr
    code = (
        "import goldenpath, sys; from pathlib import Path; from goldenpath.render import render;"
        " assert not Path(goldenpath.__file__).is_relative_to(sys.argv[2]), goldenpath.__file__;"
        " render(Path(sys.argv[1]))"
    )
    done = installed(str(venv / "bin" / "python"), "-c", code, str(away / "svc"), str(ROOT))
    assert done.returncode == 0, done.stderr[-3000:]
    assert files_of(away / "svc") == files_of(GOLDEN)  # the same files, symlinks included
    # A render from an unpacked copy records no template commit (nothing to update from), so
    # verify checks the committed golden render, which does.
    verified = installed(str(venv / "bin" / "goldenpath"), "verify", str(GOLDEN))
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
