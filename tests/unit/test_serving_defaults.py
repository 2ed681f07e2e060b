"""Serving defaults that rest on how one BentoML release behaves (decision 0007): when the locked
BentoML changes, these fail so that the decision is measured again rather than assumed."""

import tomllib
from pathlib import Path

# The default answers' lock (model_registry=mlflow; uv.lock.jinja includes it for that answer).
LOCK = Path(__file__).parents[2] / "templates/includes/uv-mlflow.lock"
# The release decision 0007 measured: its workers share one listening socket (BentoML's
# _bentoml_impl/server/serving.py `serve_http` creates a single CircusSocket without
# so_reuseport), so the generated service runs one worker per pod and scales with pods.
MEASURED_BENTOML = "1.4.40"


def locked(name: str) -> str | None:
    packages = tomllib.loads(LOCK.read_text())["package"]
    return next((p["version"] for p in packages if p["name"] == name), None)


def test_one_worker_per_pod_was_decided_on_the_locked_bentoml() -> None:
    assert locked("bentoml") == MEASURED_BENTOML, (
        f"the generated lock moved BentoML from {MEASURED_BENTOML} to {locked('bentoml')}: check "
        "whether its workers still share one listening socket (serve_http in "
        "_bentoml_impl/server/serving.py), run `make bench-serving`, and update decision 0007, "
        "SERVICE_WORKERS's default in settings.py.jinja and MEASURED_BENTOML here"
    )


def test_uvicorn_finds_uvloop_and_httptools_in_the_lock() -> None:
    assert locked("uvloop") is not None, "uvloop is not in the generated lock"
    assert locked("httptools") is not None, "httptools is not in the generated lock"
