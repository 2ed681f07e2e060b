"""Moving an alias to a version (`make promote`) and bringing a version into the local model store
for `make serve` and `make image` (`make pull-model`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import bentoml

from ..model import store_writer
from ..settings import REGISTERED_MODEL_NAME
from .connection import (
    GATE_TAG,
    PRODUCTION,
    SELECTION,
    RegistryError,
    _alias_version,
    _shown_uri,
    _version,
    registry,
)


def promote(version: str, alias: str) -> int:
    if not alias.replace("-", "").replace("_", "").isalnum():
        raise RegistryError(f"ALIAS={alias!r}: use letters, digits, '-' and '_'")
    if alias == PRODUCTION:
        raise RegistryError(
            "refused: alias production follows production deployments (`make deployment-record"
            " ENV=production`, run by the release pipeline); promote to candidate and release"
        )
    with registry() as client:
        found = _version(client, version=version)
        if found.tags.get(GATE_TAG) != "passed":
            raise RegistryError(
                f"refused: version {version} of {REGISTERED_MODEL_NAME} did not pass the quality"
                f" gate ({GATE_TAG}={found.tags.get(GATE_TAG, 'not recorded')})"
            )
        before = _alias_version(client, alias)
        client.set_registered_model_alias(REGISTERED_MODEL_NAME, alias, str(version))
    was = f" (was version {before.version})" if before is not None else ""
    print(f"{REGISTERED_MODEL_NAME} alias {alias} -> version {version}{was}")
    return 0


def _import(client: Any, version: Any, into: Path) -> str:
    """Download a version's export and import it into the local store (when missing); its tag."""
    import mlflow

    wanted = version.tags.get("bentoml_tag", "")
    try:
        return str(bentoml.models.get(wanted).tag)
    except bentoml.exceptions.NotFound:
        pass
    folder = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=str(into))
    )
    files = sorted(folder.rglob("*.bentomodel")) if folder.is_dir() else [folder]
    if not files:
        raise RegistryError(f"version {version.version} holds no .bentomodel at {version.source}")
    with store_writer():  # one writer at a time; a pull beside this one may have imported it
        try:
            return str(bentoml.models.get(wanted).tag)
        except bentoml.exceptions.NotFound:
            return str(bentoml.models.import_model(str(files[0])).tag)


def _select(version: Any, tag: str, why: str) -> None:
    SELECTION.mkdir(parents=True, exist_ok=True)
    record = {
        "registered_model": REGISTERED_MODEL_NAME,
        "version": str(version.version),
        "aliases": sorted(getattr(version, "aliases", []) or []),
        "bentoml_tag": tag,
        "why": why,
        "registry": _shown_uri(),
    }
    (SELECTION / "registry-selection.json").write_text(json.dumps(record, indent=2) + "\n")
    (SELECTION / "registry-tag").write_text(tag + "\n")
    (SELECTION / "registry-version").write_text(str(version.version) + "\n")
    (SELECTION / "registry.env").write_text(f"MODEL_VERSION={version.version}\n")
    (SELECTION / "registry-why").write_text(
        f"serving {REGISTERED_MODEL_NAME} version {version.version} ({tag}): {why}\n"
    )


def pull(version: str | None, alias: str | None) -> int:
    with registry() as client, tempfile.TemporaryDirectory() as tmp:
        found = _version(client, version=version, alias=alias)
        tag = _import(client, found, Path(tmp))
    how = f"alias {alias}" if alias else f"version {version}"
    _select(found, tag, f"pulled by `make pull-model` ({how})")
    lineage = {k: found.tags.get(k, "") for k in ("git_commit", "training_data_sha256", "source")}
    print(f"pulled {REGISTERED_MODEL_NAME} version {found.version} ({how}) as {tag}: {lineage}")
    return 0
