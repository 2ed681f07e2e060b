"""Registering a version: its lineage as tags, the quality gate and the prediction shift against
production, for a model `make train` made (`publish`) or one trained elsewhere (`make register`)."""

from __future__ import annotations

import getpass
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import bentoml
import numpy as np

from ..model import CONTRACT
from ..model import load as load_stored
from ..settings import REGISTERED_MODEL_NAME, SERVICE_NAME, TEMPLATE_VERSION
from .aliases import _import, _select
from .connection import (
    ARTIFACT_PATH,
    CANDIDATE,
    DEFAULT_CONFIG,
    DEFAULT_SHIFT,
    GATE_TAG,
    PRODUCTION,
    RegistryError,
    _alias_version,
    _experiment_id,
    _shown_uri,
    registry,
)


def _ci_run_url() -> str:
    """The CI run that is doing this (GitHub Actions or GitLab CI), else ""."""
    if os.environ.get("GITHUB_RUN_ID"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        repository = os.environ.get("GITHUB_REPOSITORY", "")
        return f"{server}/{repository}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
    return os.environ.get("CI_PIPELINE_URL", "") or os.environ.get("CI_JOB_URL", "")


def _actor() -> str:
    for name in ("APPROVER", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return f"{getpass.getuser()} (local)"
    except OSError:
        return "unknown"


def _commit() -> tuple[str, bool]:
    from ..training import lineage

    found = lineage()
    commit = os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA") or found["git_commit"]
    return commit, bool(found["git_dirty"])


def _version_tags(metadata: Mapping[str, Any], tag: str, source: str) -> dict[str, str]:
    """Lineage of a stored BentoML model as registry version tags (strings, flat)."""
    tags = {
        "bentoml_tag": tag,
        "source": source,
        "git_commit": str(metadata.get("git_commit", "unknown")),
        "git_dirty": str(metadata.get("git_dirty", "unknown")).lower(),
        "template_version": str(metadata.get("template_version", TEMPLATE_VERSION)),
        "training_data_sha256": str(metadata.get("training_data_sha256", "unknown")),
        "dataset": str(metadata.get("dataset", "unknown")),
        "params": json.dumps(metadata.get("params", {}), sort_keys=True, default=str),
        "metrics": json.dumps(metadata.get("metrics", {}), sort_keys=True),
        "registered_by": _actor(),
    }
    for name, value in (metadata.get("metrics") or {}).items():
        tags[f"metric.{name}"] = f"{float(value):.6g}"
    if _ci_run_url():
        tags["ci_run_url"] = _ci_run_url()
    return tags


def _config(path: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    from ..training import load_config

    return load_config(path)


def _evaluation(config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    from .. import contract

    if not hasattr(contract, "evaluation_data") or not hasattr(contract, "evaluate"):
        return None
    features, target = contract.evaluation_data(dict(config))
    return np.asarray(features, dtype=np.float64), np.asarray(target)


def gate(model: Any, config: Mapping[str, Any]) -> dict[str, float]:
    """The contract's metrics of model on its evaluation data; RegistryError when the gate fails."""
    from .. import contract
    from ..training import quality_gate_failures

    data = _evaluation(config)
    if data is None:
        raise RegistryError(
            "contract.py defines no evaluation_data(config) and evaluate(model, features, target):"
            " add them (the template's example contract shows both) so a model trained elsewhere"
            " can be checked against held-out data"
        )
    metrics = {k: float(v) for k, v in contract.evaluate(model, *data).items()}
    failures = quality_gate_failures(metrics, config.get("quality_gate", {}))
    if failures:
        raise RegistryError(
            "refused: the quality gate failed on the contract's evaluation data ("
            + "; ".join(failures)
            + "); no version was created"
        )
    return metrics


def prediction_shift(new: np.ndarray, old: np.ndarray, tolerance: float) -> dict[str, float]:
    """How far the new version's predictions moved from the old one's, row by row (the task
    says how a row's move is measured, tasks.py)."""
    moved = CONTRACT.task.moved(new, old)
    return {
        "rows": len(moved),
        "shifted_share": float((moved > tolerance).mean()),
        "mean": float(moved.mean()),
        "max": float(moved.max()),
        "tolerance": tolerance,
    }


def _shift_against(
    client: Any, model: Any, config: Mapping[str, Any], force: bool
) -> dict[str, str]:
    """Compare with the version at production (else candidate); tags recording the shift."""
    data = _evaluation(config)
    if data is None:
        return {"prediction_shift": "not measured: contract.py has no evaluation_data"}
    against = _alias_version(client, PRODUCTION) or _alias_version(client, CANDIDATE)
    if against is None:
        return {"prediction_shift": "not measured: no version at production or candidate yet"}
    alias = PRODUCTION if against.aliases and PRODUCTION in against.aliases else CANDIDATE
    bounds = {**DEFAULT_SHIFT, **config.get("registry", {})}
    with tempfile.TemporaryDirectory() as tmp:
        current = _import(client, against, Path(tmp))
    features, _ = data
    shift = prediction_shift(
        CONTRACT.task.outputs(CONTRACT.predict(model, features), len(features)),
        load_stored(current).predict(features),
        float(bounds["shift_tolerance"]),
    )
    tags = {
        "prediction_shift": json.dumps(
            {"against_version": against.version, "against_alias": alias, **shift}, sort_keys=True
        )
    }
    if shift["shifted_share"] > float(bounds["max_shifted_share"]):
        share, bound = 100 * shift["shifted_share"], 100 * float(bounds["max_shifted_share"])
        message = (
            f"{share:.1f} % of {shift['rows']} evaluation rows moved by more than"
            f" {shift['tolerance']} against version {against.version} ({alias}); the bound is"
            f" {bound:.1f} % ([registry] in config/training.toml)"
        )
        if not force:
            raise RegistryError(f"refused: {message}; FORCE=1 registers it anyway")
        print(f"registering although {message} (FORCE=1)", file=sys.stderr)
        tags["prediction_shift_forced"] = "true"
    return tags


def _publish(
    client: Any, tag: str, source: str, extra: Mapping[str, str], metrics: Mapping[str, float]
) -> Any:
    """Store the BentoML model's export as a run artifact, then create the version with its tags.

    The version is created only once its artifact is stored: a failure before leaves a failed
    run at most (deleted when the registry still answers), never a version without its artifact.
    """
    stored = bentoml.models.get(tag)
    metadata = stored.info.metadata
    tags = {**_version_tags(metadata, str(stored.tag), source), **extra, GATE_TAG: "passed"}
    experiment = _experiment_id(client)
    run = client.create_run(experiment, run_name=f"register {stored.tag}", tags={"source": source})
    run_id = run.info.run_id
    try:
        for name, value in {**(metadata.get("metrics") or {}), **metrics}.items():
            client.log_metric(run_id, name, float(value))
        with tempfile.TemporaryDirectory() as tmp:
            exported = Path(tmp) / f"{stored.tag.name}-{stored.tag.version}.bentomodel"
            bentoml.models.export_model(stored.tag, str(exported))
            client.log_artifact(run_id, str(exported), ARTIFACT_PATH)
        try:
            client.create_registered_model(
                REGISTERED_MODEL_NAME, description=f"The model {SERVICE_NAME} serves."
            )
        except Exception as error:
            if "RESOURCE_ALREADY_EXISTS" not in str(error) and "already exists" not in str(error):
                raise
        version = client.create_model_version(
            REGISTERED_MODEL_NAME,
            source=f"{run.info.artifact_uri}/{ARTIFACT_PATH}",
            run_id=run_id,
            tags=tags,
            description=f"BentoML {stored.tag}, {source}",
        )
        client.set_terminated(run_id, "FINISHED")
    except BaseException:
        # When the registry is gone, the failed run is all that can remain (never a version).
        with suppress(Exception):
            client.set_terminated(run_id, "FAILED")
            client.delete_run(run_id)
        raise
    return version


def publish_trained(tag: str, force: bool = False, config_path: Path = DEFAULT_CONFIG) -> int:
    """`make train`: register the version training just saved (it passed the gate there)."""
    started = time.monotonic()
    config = _config(config_path)
    stored = load_stored(tag)
    with registry() as client:
        extra = _shift_against(client, stored.model, config, force)
        version = _publish(client, tag, "make train", extra, {})
    _select(version, str(tag), "registered by `make train` here")
    print(
        f"registered {REGISTERED_MODEL_NAME} version {version.version} ({tag}) in"
        f" {_shown_uri()} in {time.monotonic() - started:.1f} s"
    )
    return 0


def register_existing(
    artifact: Path | None, tag: str | None, force: bool, config_path: Path = DEFAULT_CONFIG
) -> int:
    """`make register`: a model trained elsewhere, through the contract's load and the gate."""
    from ..spec import TrainingResult
    from ..training import dataset_sha256
    from ..training import register as save_to_store

    config = _config(config_path)
    if artifact is not None:
        if not artifact.exists():
            raise RegistryError(f"refused: ARTIFACT={artifact} does not exist")
        try:
            model = CONTRACT.load(artifact)
            CONTRACT.task.outputs(CONTRACT.predict(model, np.zeros((1, len(CONTRACT.features)))), 1)
        except Exception as error:
            raise RegistryError(
                f"refused: contract.py's load could not read ARTIFACT={artifact} into a model that"
                f" predicts ({type(error).__name__}: {error}); no version was created"
            ) from error
    else:
        try:
            stored = load_stored(str(tag))
        except Exception as error:
            raise RegistryError(
                f"refused: MODEL_TAG={tag} is not a model of this contract in the local store"
                f" ({type(error).__name__}: {error}); no version was created"
            ) from error
        # The version records the exact tag (`name:latest` resolved), so a pull finds this model.
        model, tag = stored.model, stored.tag
    metrics = gate(model, config)
    features, target = _evaluation(config)  # type: ignore[misc]
    with registry() as client:
        extra = _shift_against(client, model, config, force)
        if artifact is not None:
            result = TrainingResult(
                model=model,
                metrics=metrics,
                features=features,
                target=target,
                dataset="unknown: trained elsewhere (drift reference: the evaluation data)",
                n_test=len(target),
                params={},
            )
            tag = save_to_store(result, config)
            source = f"make register ARTIFACT={artifact}"
            # Trained elsewhere: its training data and parameters are not known here; the store's
            # drift reference (and its hash) are of the evaluation data.
            unknown = "unknown: trained elsewhere"
            extra = {
                **extra,
                "training_data_sha256": unknown,
                "dataset": unknown,
                "params": unknown,
                "evaluation_data_sha256": dataset_sha256(features, target),
            }
        else:
            source = f"make register MODEL_TAG={tag}"
        extra = {**extra, "evaluation_metrics": json.dumps(metrics, sort_keys=True)}
        version = _publish(client, str(tag), source, extra, metrics)
    _select(version, str(tag), f"registered by `{source}` here")
    print(f"registered {REGISTERED_MODEL_NAME} version {version.version} ({tag}): {source}")
    return 0
