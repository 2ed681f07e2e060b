"""`python -m <package>.registry COMMAND`: the Makefile's registry targets (see __init__.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .aliases import promote, pull
from .connection import (
    RegistryError,
)
from .deployments import deployments, record, rollback_plan
from .versions import publish_trained, register_existing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="register a version `make train` saved")
    publish.add_argument("--tag", required=True)
    publish.add_argument("--force", action="store_true")
    register = commands.add_parser("register", help="register a model trained elsewhere")
    source = register.add_mutually_exclusive_group(required=True)
    source.add_argument("--artifact", type=Path)
    source.add_argument("--tag")
    register.add_argument("--force", action="store_true")
    promoting = commands.add_parser("promote", help="point an alias at a version")
    promoting.add_argument("--version", required=True)
    promoting.add_argument("--alias", required=True)
    pulling = commands.add_parser("pull", help="bring a version into the local store")
    chosen = pulling.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--alias")
    chosen.add_argument("--version")
    recording = commands.add_parser("record", help="write a deployment record on a version")
    recording.add_argument("--environment", required=True)
    recording.add_argument("--digest", required=True)
    recording.add_argument("--version")
    recording.add_argument("--kind", default="deploy", choices=("deploy", "rollback", "aborted"))
    recording.add_argument("--image", default="")
    recording.add_argument("--move-alias", action="append", default=[])
    commands.add_parser("rollback-plan", help="the previous production version and digest")
    commands.add_parser("deployments", help="the deployment history, newest first")
    args = parser.parse_args(argv)
    try:
        if args.command == "publish":
            return publish_trained(args.tag, args.force)
        if args.command == "register":
            return register_existing(args.artifact, args.tag, args.force)
        if args.command == "promote":
            return promote(args.version, args.alias)
        if args.command == "pull":
            return pull(args.version, args.alias)
        if args.command == "record":
            return record(
                args.environment, args.digest, args.version, args.kind, args.image, args.move_alias
            )
        if args.command == "rollback-plan":
            return rollback_plan()
        return deployments()
    except RegistryError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
