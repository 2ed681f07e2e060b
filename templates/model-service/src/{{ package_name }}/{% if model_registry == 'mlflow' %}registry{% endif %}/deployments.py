"""Deployment records on the model version (`make deploy`, `make rollback`), the rollback plan,
and `make deployments`."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..settings import REGISTERED_MODEL_NAME
from .connection import (
    DEPLOYMENT_PREFIX,
    DIGEST,
    PRODUCTION,
    RECORD_FILE,
    SELECTION,
    RegistryError,
    _alias_version,
    _shown_uri,
    _version,
    registry,
)
from .versions import _actor, _ci_run_url, _commit


def _records(client: Any) -> list[dict[str, Any]]:
    records = []
    for found in client.search_model_versions(f"name='{REGISTERED_MODEL_NAME}'"):
        for key, value in found.tags.items():
            if key.startswith(DEPLOYMENT_PREFIX):
                records.append({**json.loads(value), "version": found.version})
    return sorted(records, key=lambda r: r["time"], reverse=True)


def record(
    environment: str,
    digest: str,
    version: str | None,
    kind: str,
    image: str,
    move: Sequence[str],
) -> int:
    """Write a deployment record on the version; a production deploy moves its aliases."""
    if not DIGEST.match(digest):
        raise RegistryError(f"DIGEST={digest!r} is not an image digest (sha256:...)")
    version = version or _selected_version()
    commit, _ = _commit()
    with registry() as client:
        found = _version(client, version=version)
        previous = _alias_version(client, PRODUCTION) if environment == PRODUCTION else None
        now = datetime.now(UTC)
        entry = {
            "kind": kind,
            "environment": environment,
            "image": f"{image}@{digest}" if image else digest,
            "digest": digest,
            "commit": commit,
            "pipeline_run": _ci_run_url() or "local",
            "approver": _actor(),
            "time": now.isoformat(timespec="microseconds"),
            "bentoml_tag": found.tags.get("bentoml_tag", ""),
            "previous_production_version": previous.version if previous is not None else None,
        }
        key = f"{DEPLOYMENT_PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}.{environment}"
        client.set_model_version_tag(REGISTERED_MODEL_NAME, str(version), key, json.dumps(entry))
        RECORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        RECORD_FILE.write_text(json.dumps({**entry, "version": str(version)}, indent=2) + "\n")
        for alias in move:
            client.set_registered_model_alias(REGISTERED_MODEL_NAME, alias, str(version))
    moved = f"; {', '.join(move)} -> version {version}" if move else ""
    print(f"recorded {kind} of version {version} to {environment} ({digest}){moved}")
    return 0


def _selected_version() -> str:
    path = SELECTION / "registry-version"
    if not path.is_file():
        raise RegistryError(
            "no VERSION given and none selected: run `make pull-model ALIAS=candidate`"
        )
    return path.read_text().strip()


def rollback_plan() -> int:
    """The production deployment before the current one: VERSION and DIGEST lines for make."""
    with registry() as client:
        # An aborted canary never served production: it is no deployment to roll back to.
        production = [
            r
            for r in _records(client)
            if r["environment"] == PRODUCTION and r.get("kind") != "aborted"
        ]
        current = _alias_version(client, PRODUCTION)
    if current is None or not production:
        raise RegistryError("nothing to roll back to: no production deployment is recorded")
    earlier = [r for r in production if r["version"] != current.version]
    if not earlier:
        raise RegistryError(
            "nothing to roll back to: every recorded production deployment is version"
            f" {current.version}"
        )
    target = earlier[0]
    if not DIGEST.match(target["digest"]) or not str(target["version"]).isdigit():
        raise RegistryError(f"the recorded deployment {target} has no valid digest and version")
    print(f"VERSION={shlex.quote(str(target['version']))}")
    print(f"DIGEST={shlex.quote(target['digest'])}")
    print(
        f"rolling back production from version {current.version} to version {target['version']}"
        f" ({target['digest']}, deployed {target['time']})",
        file=sys.stderr,
    )
    return 0


def deployments() -> int:
    with registry() as client:
        records = _records(client)
        registered = bool(client.search_model_versions(f"name='{REGISTERED_MODEL_NAME}'"))
        # The registered model carries the aliases (a version search leaves them out).
        aliases = (
            dict(client.get_registered_model(REGISTERED_MODEL_NAME).aliases) if registered else {}
        )
    shown = ", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items())) or "none"
    print(f"{REGISTERED_MODEL_NAME} in {_shown_uri()}; aliases: {shown}")
    if not records:
        print("no deployments recorded yet")
    for r in records:
        print(
            f"{r['time']}  {r['kind']:<8} {r['environment']:<10} version {r['version']:<4}"
            f" {r['digest']}  commit {r['commit'][:12]}  by {r['approver']}  {r['pipeline_run']}"
        )
    return 0
