"""`--dist loadgroup` keeps a group on one worker: the suite relies on it to make each module
fixture once (tests/conftest.py marks the groups). pytest 9 with pytest-xdist 3.8 silently
spread groups across workers; this fails if an upgrade brings that back."""

import os
import subprocess
import sys
import textwrap


def test_a_group_runs_on_one_worker(tmp_path) -> None:
    (tmp_path / "test_grouped.py").write_text(
        textwrap.dedent(
            """
            import os
            from pathlib import Path

            import pytest

            @pytest.mark.xdist_group("one")
            @pytest.mark.parametrize("i", range(8))
            def test_grouped(i, tmp_path_factory):
                out = Path(os.environ["GROUP_OUT"])
                (out / str(i)).write_text(os.environ["PYTEST_XDIST_WORKER"])
            """
        )
    )
    out = tmp_path / "workers"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_grouped.py"),
        ],
        cwd=tmp_path,
        env={**os.environ, "GROUP_OUT": str(out)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {path.read_text() for path in out.iterdir()}
    assert len(list(out.iterdir())) == 8 and len(workers) == 1, workers
