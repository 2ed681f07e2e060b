"""The registry's address and client, its errors in plain words, and finding a version by number
or alias. MLflow is imported here, and only when a command needs it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..settings import REGISTERED_MODEL_NAME, SERVICE_NAME

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


def _shown_uri() -> str:
    uri = tracking_uri()
    return "the embedded registry (model_registry/)" if _embedded(uri) else uri
