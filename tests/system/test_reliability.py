"""Failure behaviour of the real generated service on loopback: a missing or corrupt model, schema
fuzzing, SIGTERM under load, and overload far beyond capacity. Counts and statuses are asserted
here; how fast is measured by benchmarks/reliability (no timed assertions in the suite)."""

import json
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest

from devkit.load import ROW, drive, fuzz, grace_s, sigterm_under_load
from devkit.service import started

SCHEMATHESIS = Path(sys.executable).parent / "st"
CLIENTS = 16


@pytest.fixture(scope="module")
def trained(environments, tmp_path_factory):
    return environments.trained(home=tmp_path_factory.mktemp("reliability"))


def readiness(url: str, probes: int = 20) -> list[int]:
    statuses = []
    for _ in range(probes):
        statuses.append(httpx.get(f"{url}/readyz", timeout=2).status_code)
        time.sleep(0.25)
    return statuses


def assert_never_ready_with_one_error(trained, log: Path, env: dict, tag: str) -> None:
    # One worker: the service logs the failure once per worker process.
    with started(trained, log, {**env, "SERVICE_WORKERS": "1"}, ready=False) as running:
        statuses = readiness(running.url)
        alive = httpx.get(f"{running.url}/livez", timeout=2).status_code
        predict = httpx.post(f"{running.url}/predict", json=ROW)
    assert set(statuses) == {503}, statuses
    assert alive == 200
    assert predict.status_code == 503
    assert tag in predict.json()["error"] and "`make train`" in predict.json()["error"]
    errors = [line for line in log.read_text().splitlines() if "model_load_failed" in line]
    assert len(errors) == 1, errors
    assert tag in errors[0] and "`make train`" in errors[0]


def test_missing_model_never_ready_and_logs_one_clear_error(trained, tmp_path) -> None:
    tag = "iris-classifier:doesnotexist"
    assert_never_ready_with_one_error(trained, tmp_path / "serve.log", {"MODEL_TAG": tag}, tag)


def test_corrupt_model_never_ready_and_logs_one_clear_error(trained, tmp_path) -> None:
    store = tmp_path / "bentoml"
    shutil.copytree(trained.env["BENTOML_HOME"], store)
    name, version = trained.model_tag.split(":")
    artifact = store / "models" / name / version / "artifact" / "model.joblib"
    assert artifact.is_file()
    artifact.write_bytes(b"not a model: truncated upload\n")
    env = {"BENTOML_HOME": str(store), "MODEL_TAG": trained.model_tag}
    assert_never_ready_with_one_error(trained, tmp_path / "serve.log", env, trained.model_tag)


def test_a_rejected_request_is_one_info_line_and_production_logs_are_json(
    trained, tmp_path
) -> None:
    log = tmp_path / "serve.log"
    with started(trained, log, {"LOG_FORMAT": "json", "SERVICE_WORKERS": "1"}) as running:
        bad = httpx.post(f"{running.url}/predict", json={"sepal_length_cm": "wide"})
        good = httpx.post(f"{running.url}/predict", json=ROW)
    assert (bad.status_code, good.status_code) == (400, 200)
    text = log.read_text()
    assert "Traceback" not in text
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    assert any(e["logger"].startswith("bentoml") for e in entries)  # BentoML's own lines too
    rejected = [e for e in entries if "rejected with 400" in e["message"]]
    assert len(rejected) == 1 and rejected[0]["level"] == "INFO", rejected
    assert not [e for e in entries if e["level"] == "ERROR"]


def bentoml_workers(arbiter: int) -> list[int]:
    """The pids of BentoML's worker processes under the `bentoml serve` arbiter."""
    workers = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == arbiter and b"_bentoml_impl.worker.service" in command:
            workers.append(int(proc.name))
    return workers


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc")
def test_shipped_serving_defaults_one_worker_uvloop_httptools_untraced(trained, tmp_path) -> None:
    env = {"SERVICE_WORKERS": ""}  # the shipped default, whatever the environment says
    with started(trained, tmp_path / "serve.log", env) as running:
        response = httpx.post(f"{running.url}/predict", json=ROW, timeout=5)
        workers = bentoml_workers(running.process.pid)
        libraries = [Path(f"/proc/{pid}/maps").read_text() for pid in workers]
    assert response.status_code == 200, response.text
    assert "x-bentoml-request-id" not in response.headers, response.headers
    assert len(workers) == 1, workers
    # uvicorn (BentoML's worker) picks these up when installed: the loop and the HTTP parser.
    assert "uvloop" in libraries[0] and "httptools" in libraries[0]


def test_tracing_can_be_turned_back_on(trained, tmp_path) -> None:
    with started(trained, tmp_path / "serve.log", {"TRACING": "true"}) as running:
        response = httpx.post(f"{running.url}/predict", json=ROW, timeout=5)
    assert response.status_code == 200, response.text
    # BentoML's id of the request's trace span: the prediction route is traced again.
    assert "x-bentoml-request-id" in response.headers, response.headers


def test_schema_fuzzing_finds_no_server_error(trained, tmp_path) -> None:
    with started(trained, tmp_path / "serve.log") as running:
        result = fuzz(SCHEMATHESIS, running.url, tmp_path)
    assert result.requests >= 1000, result.output[-3000:]
    assert result.server_errors == 0, (result.statuses, result.output[-6000:])
    assert result.exit_code == 0, result.output[-6000:]


def test_sigterm_under_load_loses_no_request_in_flight(trained, tmp_path) -> None:
    log = tmp_path / "serve.log"
    # DEBUG: the service logs each prediction request it receives, with the caller's request id.
    with started(trained, log, {"LOG_LEVEL": "DEBUG"}) as running:
        grace = grace_s(trained.repo)
        shutdown = sigterm_under_load(running.process, running.url, log, CLIENTS, grace)
    statuses, errors = shutdown.outcome.statuses, shutdown.outcome.errors
    assert statuses[200] > 100 and set(statuses) == {200}, statuses
    assert len(shutdown.received_ids) >= statuses[200]
    # In flight: the service had received it. None of those may be lost.
    assert shutdown.lost_in_flight == 0, errors
    # What remains (shutdown.never_received, recorded by benchmarks/reliability) is the keep-alive
    # race: a request written to a connection as a worker closed it, which the service never read.
    # In a cluster the preStop sleep takes the pod out of the endpoints before SIGTERM.
    assert shutdown.exit_code == 0, log.read_text()[-3000:]
    assert shutdown.exited_after_s < grace, (shutdown.exited_after_s, grace)


def test_overload_is_shed_with_429_or_503_and_recovers(trained, tmp_path) -> None:
    # One worker admits the pod's whole concurrency limit (128): 400 clients are far beyond it.
    # Three requests a client (two batches): the overload is the 400 at once, not the count;
    # benchmarks/reliability drives longer (wrk, then 3,000 batches) and times the recovery.
    batch = {"instances": [ROW] * 32}
    with started(trained, tmp_path / "serve.log", {"SERVICE_WORKERS": "1"}) as running:
        single = drive(running.url, 400, total=1200, deadline_s=60)
        batched = drive(
            running.url, 400, total=800, deadline_s=60, path="/predict_batch", payload=batch
        )
        after = drive(running.url, 4, total=200, deadline_s=30)
        ready = httpx.get(f"{running.url}/readyz", timeout=2).status_code
    # Every request is answered: a prediction, or a refusal the caller can retry; never a 5xx
    # other than the batching queue's 503.
    # A connection the kernel drops under this load (2 of 4,000 once, on a machine with two other
    # test runs) is not the service's answer; tolerated up to 1%, as for the batch route below.
    assert set(single.statuses) <= {200, 429}, single.statuses
    assert sum(single.errors.values()) <= single.sent // 100, single.errors
    assert set(batched.statuses) <= {200, 429, 503}, batched.statuses
    # Seen once in the benchmark's 3,000: one batch connection reset under this overload (issue 9's
    # note). Tolerated up to 1%, so a regression to dropping connections still fails.
    assert sum(batched.errors.values()) <= batched.sent // 100, batched.errors
    assert batched.statuses[429] + batched.statuses[503] > 0, batched.statuses
    assert single.statuses[200] > 0 and batched.statuses[200] > 0
    assert after.statuses == {200: 200}, (after.statuses, after.errors)
    assert ready == 200
