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
    "fleet report": (
        "goldenpath.fleet.report",
        "the fleet on one page: releases, lag, adoption (JSON and HTML)",
    ),
    "release tag": (
        "goldenpath.release",
        "create the template's release tags from releases.toml",
    ),
    "verify": ("goldenpath.verify", "check a generated repo against the current standards"),
}


def usage(group: str = "") -> str:
    """The commands (those of one group, such as `fleet`, when given) with their help."""
    prefix = f"{group} " if group else ""
    lines = [f"usage: goldenpath {prefix}<command> [options]", "", "commands:"]
    lines += [
        f"  {name:<14} {help_}" for name, (_, help_) in COMMANDS.items() if name.startswith(prefix)
    ]
    if not group:
        lines += ["", "options:", "  -h, --help     this list", "  --version      the version"]
    lines += ["", f"`goldenpath {prefix}<command> --help` for a command's options"]
    return "\n".join(lines)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("goldenpath")
    except PackageNotFoundError:  # run from a checkout without installing
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    if args[0] in {"-V", "--version"}:
        print(f"goldenpath {version()}")
        return 0
    groups = {name.split()[0] for name in COMMANDS if " " in name}
    if args[0] in groups and (len(args) == 1 or args[1] in {"-h", "--help"}):
        print(usage(args[0]))
        return 0 if len(args) > 1 else 2
    for words in (2, 1):
        name = " ".join(args[:words])
        if name in COMMANDS:
            module = importlib.import_module(COMMANDS[name][0])
            return module.main(args[words:])
    print(f"goldenpath: unknown command {' '.join(args[:2])!r}\n\n{usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
