"""Every task x framework answer set generates a repo whose own `make setup test lint` pass and
whose `make serve` answers a real prediction of the task's shape, with a 400 naming the feature
for a bad value of each feature type."""

import json
import math
import os

import httpx
import pytest

from devkit.project import commit_all, copy_project, git
from goldenpath import proc
from goldenpath.localservice import make_serve, serving

TASKS = ("classification", "regression")
FRAMEWORKS = ("sklearn", "lightgbm", "xgboost", "onnx")
FEATURES = """
import json
from {package}.model import CONTRACT
print(json.dumps({{
    "features": [{{"name": f.name, "kind": f.kind}} for f in CONTRACT.features],
    "examples": CONTRACT.examples,
}}))
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


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("task", TASKS)
def test_answer_set_builds_tests_and_serves(task: str, framework: str, tmp_path) -> None:
    repo = copy_project(tmp_path / "repo", model_task=task, model_framework=framework)
    commit_all(repo, "Scaffold")
    env = {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    out = run(repo, "make", "setup", "train", "test", "lint", env=env)
    assert " passed" in out and " failed" not in out, out[-3000:]
    assert git(repo, "status", "--porcelain") == "", "make setup/train/test/lint changed files"

    package = next((repo / "src").iterdir()).name
    python = str(repo / ".venv" / "bin" / "python")
    contract = json.loads(run(repo, python, "-c", FEATURES.format(package=package), env=env))
    log = tmp_path / "serve.log"
    with serving(make_serve, cwd=repo, log=log, env={**os.environ, **env}, group=True) as server:
        url, port = server.url, server.url.rsplit(":", 1)[1]
        answer = run(repo, "make", "--silent", "request", f"PORT={port}", env=env)
        assert_shape(task, json.loads(answer.strip().splitlines()[-1]))
        example = contract["examples"][0]
        for feature in contract["features"]:
            bad = "no-such-value" if feature["kind"] == "categorical" else "not a number"
            response = httpx.post(f"{url}/predict", json={**example, feature["name"]: bad})
            assert response.status_code == 400, response.text
            assert feature["name"] in response.text, response.text
    kinds = {feature["kind"] for feature in contract["features"]}
    assert kinds == ({"numeric"} if task == "classification" else {"numeric", "categorical"})
