"""Migration to v0.2.0: the team's own alert rules move into monitoring/rules/.

v0.1.0 kept them in monitoring/team-rules.yml; from v0.2.0 on, the chart and promtool read every
file in monitoring/rules/, and the team's file is monitoring/rules/team.yml. Copier runs this in the
service repo before updating, once, when an update crosses v0.2.0. Running it again changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

OLD = Path("monitoring/team-rules.yml")
NEW = Path("monitoring/rules/team.yml")


def main() -> int:
    if not OLD.exists():
        print(f"migration v0.2.0: nothing to move ({OLD} does not exist)")
        return 0
    if NEW.exists():
        print(f"migration v0.2.0: both {OLD} and {NEW} exist; merge them by hand", file=sys.stderr)
        return 1
    NEW.parent.mkdir(parents=True, exist_ok=True)
    OLD.rename(NEW)
    print(f"migration v0.2.0: moved {OLD} to {NEW}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
