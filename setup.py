"""Packs the template into the wheel, so an installed goldenpath (pipx, pip) has it.

copier.yml, templates/ and hooks/ sit outside the Python package; a wheel cannot hold their
symlinks (the chart reads monitoring/ through one), so they travel as one tar archive,
goldenpath/template.tar, which goldenpath unpacks on first use (goldenpath/__init__.py).
"""

import tarfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TEMPLATE = ("copier.yml", "templates", "hooks")
SKIPPED = {"__pycache__", ".pytest_cache", ".ruff_cache"}


class BuildWithTemplate(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        target = Path(self.build_lib) / "goldenpath" / "template.tar"
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w") as archive:
            for name in TEMPLATE:
                archive.add(
                    ROOT / name,
                    arcname=name,
                    filter=lambda info: None if Path(info.name).name in SKIPPED else info,
                )


setup(cmdclass={"build_py": BuildWithTemplate})
