"""Migration to v0.3.0: keep the team's model files of v0.2.0, which the new template drops.

Up to v0.2.0 a team's model lived in five seed files (src/<package>/schema.py and train.py,
tests/cases.py, tests/test_schema.py and tests/test_train.py). From v0.3.0 it lives in one model
contract, src/<package>/contract.py, and the registration, lineage, quality gate and generic tests
are the template's. Copier deletes every file a release drops, edited or not, so this moves those
five files (with `git mv`, before the update) to legacy/v0.2.0/, the same paths below it, where
nothing imports or tests them: port what your team changed into contract.py, then delete the
folder. Copier runs this in the service repository, once, when an update crosses v0.3.0; running
it again changes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LEGACY = Path("legacy/v0.2.0")
TEAM_FILES = ("tests/cases.py", "tests/test_schema.py", "tests/test_train.py")
PACKAGE_FILES = ("schema.py", "train.py")


def old_files() -> list[Path]:
    found = [Path(name) for name in TEAM_FILES]
    for package in sorted(Path("src").glob("*/")):
        found.extend(package / name for name in PACKAGE_FILES)
    return [path for path in found if path.is_file()]


def move(path: Path) -> None:
    target = LEGACY / path
    target.parent.mkdir(parents=True, exist_ok=True)
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(path)], capture_output=True, check=False
    )
    if tracked.returncode == 0:
        subprocess.run(["git", "mv", str(path), str(target)], check=True)
    else:
        path.rename(target)


def main() -> int:
    files = old_files()
    if not files:
        print("migration v0.3.0: nothing to keep (no v0.2.0 model files)")
        return 0
    for path in files:
        move(path)
        print(f"migration v0.3.0: kept {path} as {LEGACY / path}")
    print(
        f"migration v0.3.0: your model is now src/<package>/contract.py; port your changes from"
        f" {LEGACY}/ into it (see the template's CHANGELOG), then delete {LEGACY}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
