"""The model registry: versions beyond this repository, promotion by alias, deployment records.

    python -m <package>.registry publish --tag NAME:VERSION        (`make train` calls it)
    python -m <package>.registry register --artifact DIR | --tag NAME:VERSION [--force]
    python -m <package>.registry promote --version N --alias ALIAS
    python -m <package>.registry pull --alias ALIAS | --version N
    python -m <package>.registry record --environment ENV --digest sha256:... [--kind deploy]
    python -m <package>.registry rollback-plan
    python -m <package>.registry deployments

The registry is MLflow's, at MLFLOW_TRACKING_URI; with none set, a SQLite registry and an
artifact folder inside the repository (model_registry/, git-ignored), so everything works
offline. Credentials come only from the environment (MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN). A version holds the BentoML model exported to
one file (its artifact, metadata, lineage and drift reference) and its lineage as version tags;
a version is created only after its artifact is stored, and only for a model that passed the
quality gate. MLflow is imported only here, and only when a command needs it: the service and its
image never import it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
import numpy as np

from .model import CONTRACT
from .model import load as load_stored
from .settings import REGISTERED_MODEL_NAME, SERVICE_NAME, TEMPLATE_VERSION

EMBEDDED = Path("model_registry")
# What `make pull-model` and `make train` selected for `make serve` and `make image`:
# build/registry-{tag,version,why,selection.json}, and registry.env (MODEL_VERSION=, for CI).
SELECTION = Path("build")
ARTIFACT_PATH = "model"
GATE_TAG = "quality_gate"
DEPLOYMENT_PREFIX = "deployment."
CANDIDATE, PRODUCTION = "candidate", "production"
DEFAULT_CONFIG = Path("config/training.toml")
# A copy of the newest deployment record this checkout wrote (CI keeps it as an artifact).
RECORD_FILE = Path("build/deployment-record.json")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
DEFAULT_SHIFT = {"shift_tolerance": 0.1, "max_shifted_share": 0.05}


class RegistryError(RuntimeError):
    """A registry operation was refused or failed; the message says why and what to do."""


# ---------------------------------------------------------------------------------- connection
def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI, else the embedded SQLite registry inside the repository."""
    given = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if given:
        return given
    EMBEDDED.mkdir(exist_ok=True)
    return f"sqlite:///{(EMBEDDED / 'registry.db').resolve()}"


def _embedded(uri: str) -> bool:
    return uri.startswith("sqlite:")


def _client() -> Any:
    """An MlflowClient for the registry; mlflow is imported here, on first use only."""
    # Fail in seconds, not minutes, when the registry does not answer (MLflow retries for ~2 min).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import logging

    import mlflow
    from mlflow.tracking import MlflowClient

    # MLflow's own INFO lines (creating the embedded database's tables) are not news here.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _explain(error: Exception, uri: str) -> RegistryError:
    """A failure in words: refused credentials name the variables, no answer names the URI."""
    text = str(error)
    # Status codes as words of the message, never as digits of the address (port 40189 is no 401).
    said = text.replace(uri, " ")
    if re.search(r"\b(401|403)\b|Unauthorized|UNAUTHENTICATED|PERMISSION_DENIED", said):
        return RegistryError(
            f"the model registry at {uri} refused the credentials: set MLFLOW_TRACKING_USERNAME"
            " and MLFLOW_TRACKING_PASSWORD (CI secrets) to an account that may write models"
        )
    if any(
        word in said
        for word in (
            "Connection refused",
            "Max retries",
            "ConnectionError",
            "timed out",
            "NameResolution",
        )
    ):
        return RegistryError(
            f"the model registry at {uri} does not answer (MLFLOW_TRACKING_URI): start it or fix"
            " the address; nothing was registered"
        )
    return RegistryError(f"the model registry at {uri} failed: {text.splitlines()[0][:500]}")


@contextmanager
def registry() -> Iterator[Any]:
    """The client, with MLflow's failures turned into RegistryError naming the URI or variables."""
    uri = tracking_uri()
    try:
        yield _client()
    except RegistryError:
        raise
    except Exception as error:
        if type(error).__module__.startswith(("mlflow", "requests", "urllib3")):
            raise _explain(error, uri) from error
        raise


def _experiment_id(client: Any) -> str:
    name = f"{SERVICE_NAME}-registrations"
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    uri = tracking_uri()
    location = (EMBEDDED / "artifacts").resolve().as_uri() if _embedded(uri) else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # another registration created it at the same moment
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _version(client: Any, version: str | None = None, alias: str | None = None) -> Any:
    """The model version by number or alias, or RegistryError naming what does not exist."""
    try:
        if alias:
            return client.get_model_version_by_alias(REGISTERED_MODEL_NAME, alias)
        return client.get_model_version(REGISTERED_MODEL_NAME, str(version))
    except Exception as error:
        if "RESOURCE_DOES_NOT_EXIST" not in str(error) and "not found" not in str(error).lower():
            raise
        what = f"alias {alias!r}" if alias else f"version {version}"
        hint = (
            f"set it with `make promote VERSION=<n> ALIAS={alias}`"
            if alias
            else "see `make deployments` or the registry for the versions"
        )
        raise RegistryError(
            f"model {REGISTERED_MODEL_NAME} has no {what} in the registry at {tracking_uri()}:"
            f" {hint}"
        ) from None


def _alias_version(client: Any, alias: str) -> Any | None:
    try:
        return _version(client, alias=alias)
    except RegistryError:
        return None


# ------------------------------------------------------------------------------------ lineage
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
    from .training import lineage

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


# ------------------------------------------------------------------------------ checks: gate, shift
def _config(path: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    from .training import load_config

    return load_config(path)


def _evaluation(config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    from . import contract

    if not hasattr(contract, "evaluation_data") or not hasattr(contract, "evaluate"):
        return None
    features, target = contract.evaluation_data(dict(config))
    return np.asarray(features, dtype=np.float64), np.asarray(target)


def gate(model: Any, config: Mapping[str, Any]) -> dict[str, float]:
    """The contract's metrics of model on its evaluation data; RegistryError when the gate fails."""
    from . import contract
    from .training import quality_gate_failures

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


# --------------------------------------------------------------------------------- registering
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
    from .spec import TrainingResult
    from .training import dataset_sha256
    from .training import register as save_to_store

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


# ---------------------------------------------------------------------------- aliases, pulling
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


# ------------------------------------------------------------------------------ deployments
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


def _shown_uri() -> str:
    uri = tracking_uri()
    return "the embedded registry (model_registry/)" if _embedded(uri) else uri


# ------------------------------------------------------------------------------------------- cli
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
