"""The real thing: `bentoml serve` on a free loopback port, spoken to over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from .contract_cases import BAD_REQUESTS, EXAMPLES, VALID
from .test_http import assert_is_a_prediction

pytestmark = pytest.mark.server

START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    log = (tmp_path_factory.mktemp("server") / "serve.log").open("w+")
    command = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "iris_classifier.service:ModelService",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"bentoml serve exited with {process.returncode}:\n{log.read()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        else:
            log.seek(0)
            pytest.fail(f"not ready within {START_TIMEOUT_S}s:\n{log.read()}")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_ready_and_alive(server: str) -> None:
    assert httpx.get(f"{server}/readyz").status_code == 200
    assert httpx.get(f"{server}/livez").status_code == 200


def test_prediction(server: str, model_tag: str) -> None:
    version = model_tag.split(":")[1]
    for example in EXAMPLES:
        response = httpx.post(f"{server}/predict", json=example)
        assert response.status_code == 200, response.text
        assert_is_a_prediction(response.json(), version)
    batch = httpx.post(f"{server}/predict_batch", json={"instances": EXAMPLES * 3})
    assert batch.status_code == 200, batch.text
    assert len(batch.json()) == 3 * len(EXAMPLES)


@pytest.mark.parametrize(
    ("case", "path", "payload", "field"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_input_is_a_4xx(server: str, case, path, payload, field) -> None:
    response = httpx.post(
        f"{server}{path}", content=payload, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    if field is not None:
        assert field in response.text


def test_metrics_show_the_custom_metrics(server: str) -> None:
    httpx.post(f"{server}/predict", json=VALID)
    httpx.post(f"{server}/predict", json={"no_such_feature": 1.0})
    metrics = httpx.get(f"{server}/metrics").text
    exported = {
        line.split("{")[0].split(" ")[0]
        for line in metrics.splitlines()
        if line and not line.startswith("#")
    }
    for name in (
        "model_predictions_total",
        "model_rejected_inputs_total",
        "model_info",
        "model_ready",
        "bentoml_service_request_duration_seconds_bucket",
    ):
        assert name in exported, name
