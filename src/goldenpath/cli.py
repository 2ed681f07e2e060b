"""`goldenpath <command>`: one module per subcommand, each with main(argv) -> exit status."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module, one-line help)
COMMANDS = {
    "demo": ("goldenpath.demo", "scaffold, train, serve and query the default service"),
    "fleet status": (
        "goldenpath.fleet.status",
        "where each service repo stands against the template",
    ),
    "fleet update": ("goldenpath.fleet.update", "take a template release into many repos at once"),
    "release tag": (
        "goldenpath.release",
        "create the template's release tags from releases.toml",
    ),
    "verify": ("goldenpath.verify", "check a generated repo against the current standards"),
}


def usage() -> str:
    lines = ["usage: goldenpath <command> [options]", "", "commands:"]
    lines += [f"  {name:<14} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    for words in (2, 1):
        name = " ".join(args[:words])
        if name in COMMANDS:
            module = importlib.import_module(COMMANDS[name][0])
            return module.main(args[words:])
    print(f"goldenpath: unknown command {' '.join(args[:2])!r}\n\n{usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
