"""Shared fixtures: an isolated model store with one model trained by the contract, and an
in-process client.

The model store and the metrics directory are temporary: tests never touch bentoml_home/.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SCRATCH = Path(tempfile.mkdtemp(prefix="iris_classifier-tests-"))
os.environ["BENTOML_HOME"] = str(_SCRATCH / "bentoml")
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
# prometheus_client reads this at import: the in-process /metrics needs a multiprocess directory.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_SCRATCH / "metrics")
(_SCRATCH / "metrics").mkdir()

from iris_classifier import training  # noqa: E402  (the environment above must come first)
from iris_classifier.spec import TrainingResult  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "training.toml"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def config_path() -> Path:
    return CONFIG


@pytest.fixture(scope="session")
def config() -> dict:
    return training.load_config(CONFIG)


@pytest.fixture(scope="session")
def training_result(config: dict) -> TrainingResult:
    return training.train(config)


@pytest.fixture(scope="session")
def model_tag(training_result: TrainingResult, config: dict) -> str:
    """The tag of a model trained and registered in the test model store."""
    return training.register(training_result, config)


@pytest.fixture(scope="session")
def client(model_tag: str):
    """An in-process HTTP client of the service (runs its start-up, so the model is loaded)."""
    from starlette.testclient import TestClient

    from iris_classifier.service import ModelService

    with TestClient(ModelService.to_asgi()) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def bentoml_home() -> Path:
    return Path(os.environ["BENTOML_HOME"])
