"""Failure behaviour of the real generated service: a missing model never reports ready and says
so once, naming the tag; the process stays alive for the probes to see."""

import contextlib
import os
import signal
import subprocess
import time

import httpx
import pytest

from .support.service import free_port, trained_repo

pytestmark = [pytest.mark.server, pytest.mark.generated_make]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return trained_repo(tmp_path_factory.mktemp("reliability"))


def test_missing_model_never_ready_and_logs_one_clear_error(trained, tmp_path) -> None:
    port = free_port()
    tag = "iris-classifier:doesnotexist"
    log = tmp_path / "serve.log"
    # One worker: the service logs the failure once per worker process.
    env = {**os.environ, **trained.env, "MODEL_TAG": tag, "SERVICE_WORKERS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        str(trained.repo / ".venv/bin/bentoml"),
        "serve",
        f"{trained.package}.service:ModelService",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=trained.repo, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    statuses = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(statuses) < 20:
            with contextlib.suppress(httpx.TransportError):
                statuses.append(httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code)
            time.sleep(0.5)
        alive = httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code
        predict = httpx.post(
            f"http://127.0.0.1:{port}/predict", json={"features": [5.1, 3.5, 1.4, 0.2]}
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert len(statuses) >= 10 and set(statuses) == {503}, statuses
    assert alive == 200
    assert predict.status_code == 503  # BentoML hides the message; the log names the tag
    errors = [line for line in log.read_text().splitlines() if "model_load_failed" in line]
    assert len(errors) == 1, errors
    assert tag in errors[0]
