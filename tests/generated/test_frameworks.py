"""Every task x framework answer set generates a repo that trains, predicts with the task's shape,
passes its contract and lint, and answers a bad value of each feature with a 400 naming it.

The full generated tier runs for each task's default framework (scikit-learn): the repo's own
`make test` (its real-server tests included), `make lint`, and a real `make serve` answering
`make request`. For classification with scikit-learn, the default answers, the tutorial runs
exactly that as written (tests/system/test_tutorial.py: the same checks of its output and of a
clean tree), so here it takes the in-process path below.
The other frameworks change only the contract's model code, so they keep what that code can break
(training, its quality gate and lineage, the contract's rules, in-process predictions and 4xx,
ruff's lint and format checks) without repeating the server tests or the rest of `make lint`.
Environments are shared per answer set (tests/conftest.py).
"""

import json
import math
import os

import httpx
import pytest

from devkit.project import git
from goldenpath import proc
from goldenpath.localservice import make_serve, serving

TASKS = ("classification", "regression")
FRAMEWORKS = ("sklearn", "lightgbm", "xgboost", "onnx")
DEFAULT_FRAMEWORK = "sklearn"
# The default answers' full tier is the tutorial's (tests/system/test_tutorial.py).
FULL = {("regression", DEFAULT_FRAMEWORK)}
# What a framework's model code can break, from the repo's own tests (no real server).
MODEL_TESTS = ("tests/test_contract.py", "tests/test_http.py", "tests/test_training.py")
# The rest of `make lint` (the Dockerfile, the dependency audit, the secret scan, the OpenAPI
# document, which follows the task) does not read a framework's code: the default sets run it.
RUFF = (("check", "."), ("format", "--check", "."))
FEATURES = """
import json
from {package}.model import CONTRACT
print(json.dumps({{
    "features": [{{"name": f.name, "kind": f.kind}} for f in CONTRACT.features],
    "examples": CONTRACT.examples,
}}))
"""
# The service in process (its start-up loads the trained model): the first example, then each
# feature given a value of the wrong kind.
IN_PROCESS = """
import json, sys
from starlette.testclient import TestClient
from {package}.service import ModelService
contract = json.loads(sys.argv[1])
example = contract["examples"][0]
answers = []
with TestClient(ModelService.to_asgi()) as client:
    answers.append(client.post("/predict", json=example).json())
    for feature in contract["features"]:
        bad = "no-such-value" if feature["kind"] == "categorical" else "not a number"
        response = client.post("/predict", json={{**example, feature["name"]: bad}})
        answers.append({{"status": response.status_code, "text": response.text}})
print(json.dumps(answers))
"""


def run(repo, *command: str, env: dict, timeout: int = 900) -> str:
    return proc.run(list(command), cwd=repo, env=env, echo=False, timeout=timeout).stdout


def assert_shape(task: str, prediction: dict) -> None:
    if task == "classification":
        assert set(prediction) == {"label", "probability", "probabilities", "model_version"}
        assert prediction["label"] in prediction["probabilities"]
        assert math.isclose(sum(prediction["probabilities"].values()), 1.0, abs_tol=1e-4)
    else:
        assert set(prediction) == {"value", "model_version"}
        assert math.isfinite(prediction["value"])


def assert_bad_value_named(feature: dict, status: int, text: str) -> None:
    assert status == 400, text
    assert feature["name"] in text, text


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("task", TASKS)
def test_answer_set_trains_predicts_and_refuses_bad_values(
    task: str, framework: str, environments, tmp_path
) -> None:
    home = tmp_path / "bentoml"
    trained = environments.trained(home=home, model_task=task, model_framework=framework)
    repo, env = trained.repo, trained.env
    full = (task, framework) in FULL
    if full:
        out = run(repo, "make", "test", "lint", env=env)
    else:
        tests = ["uv", "run", "--locked", "--all-extras", "--no-extra", "spark", "pytest", "-q"]
        out = run(repo, *tests, *MODEL_TESTS, env=env)
        for lint in RUFF:  # the part of `make lint` the model code can break
            out += run(repo, str(repo / ".venv" / "bin" / "ruff"), *lint, env=env)
    assert " passed" in out and " failed" not in out, out[-3000:]
    # Quiet: the libraries' own deprecation warnings are filtered in pyproject.toml, with reasons.
    assert "warnings summary" not in out, out[out.find("warnings summary") :][:3000]
    assert git(repo, "status", "--porcelain") == "", "make train/test/lint changed files"

    python = str(repo / ".venv" / "bin" / "python")
    features = FEATURES.format(package=trained.package)
    contract = json.loads(run(repo, python, "-c", features, env=env))
    kinds = {feature["kind"] for feature in contract["features"]}
    assert kinds == ({"numeric"} if task == "classification" else {"numeric", "categorical"})
    if not full:
        code = IN_PROCESS.format(package=trained.package)
        metrics = tmp_path / "metrics"  # the in-process service's prometheus_client needs one
        metrics.mkdir()
        in_process = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        answers = run(repo, python, "-c", code, json.dumps(contract), env=in_process)
        prediction, *refused = json.loads(answers)
        assert_shape(task, prediction)
        for feature, answer in zip(contract["features"], refused, strict=True):
            assert_bad_value_named(feature, answer["status"], answer["text"])
        return
    log = tmp_path / "serve.log"
    with serving(make_serve, cwd=repo, log=log, env={**os.environ, **env}, group=True) as server:
        url, port = server.url, server.url.rsplit(":", 1)[1]
        answer = run(repo, "make", "--silent", "request", f"PORT={port}", env=env)
        assert_shape(task, json.loads(answer.strip().splitlines()[-1]))
        example = contract["examples"][0]
        for feature in contract["features"]:
            bad = "no-such-value" if feature["kind"] == "categorical" else "not a number"
            response = httpx.post(f"{url}/predict", json={**example, feature["name"]: bad})
            assert_bad_value_named(feature, response.status_code, response.text)
