"""A contract that declares a credential, on a generated and trained repo: the real service is not
ready (and answers 503 naming the credential) until it arrives as a file, then serves with the
team's code reading it; the batch job fails naming it, then scores with it; and the planted value
is in no log line (LOG_LEVEL=DEBUG), response or run record. The repo's own test of the values
against the contract fails until the values list the name, then passes
(docs/how-to/add-a-credential.md).

The team's change (CREDENTIALS in contract.py, a use of the value) is made in a copy of the
package that shadows the shared environment's (PYTHONPATH), so the trained environment is reused,
not set up again."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import httpx
import yaml

from devkit.service import example_requests, started
from goldenpath.proc import run

NAME = "SERVICE_TOKEN"
PLANTED = "planted-Xk4r-credential-value-2958"

# The team's change to contract.py: declare the credential, and use it where the model needs it
# (here: predictions refuse to run unless the value arrived intact; it is never printed).
TEAM_CHANGE = f'''

CREDENTIALS = ("{NAME}",)

_team_predict = predict


def predict(model: Any, features: np.ndarray) -> np.ndarray:  # noqa: F811 (wraps the example's)
    from hashlib import sha256

    from . import credentials

    expected = "{hashlib.sha256(PLANTED.encode()).hexdigest()}"
    if sha256(credentials.read("{NAME}").encode()).hexdigest() != expected:
        raise RuntimeError("the credential did not arrive intact")
    return _team_predict(model, features)
'''


def overlay(trained, folder: Path) -> Path:
    """A copy of the repo's package with the team's change, for PYTHONPATH."""
    package = folder / trained.package
    shutil.copytree(trained.repo / "src" / trained.package, package)
    contract = package / "contract.py"
    contract.write_text(contract.read_text() + TEAM_CHANGE)
    return folder


def leaks(*texts: str) -> list[str]:
    return [text[max(0, text.find(PLANTED) - 80) :][:200] for text in texts if PLANTED in text]


def test_a_declared_credential_gates_readiness_and_batch_runs_and_never_leaks(
    environments, tmp_path
) -> None:
    trained = environments.trained(home=tmp_path / "bentoml")
    shadow = overlay(trained, tmp_path / "overlay")
    folder = tmp_path / "credentials"
    folder.mkdir()
    env = {
        "PYTHONPATH": str(shadow),
        "LOG_LEVEL": "DEBUG",
        "CREDENTIALS_DIR": str(folder),
        "MODEL_TAG": trained.model_tag,
    }
    examples = example_requests(trained)
    bodies: list[str] = []
    log = tmp_path / "server.log"
    with started(trained, log, env=env, ready=False) as server:
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        refused = httpx.post(f"{server.url}/predict", json=examples[0], timeout=5)
        assert ready.status_code == 503, ready.text
        assert refused.status_code == 503 and NAME in refused.text, refused.text
        assert f"{NAME} missing" in log.read_text()
        # The Secret arrives (a mounted file appears once the operator has synced it).
        (folder / NAME).write_text(PLANTED + "\n")
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        answers = [
            httpx.post(f"{server.url}/predict", json=examples[0], timeout=10),
            httpx.post(f"{server.url}/predict_batch", json={"instances": examples}, timeout=10),
            httpx.post(f"{server.url}/predict", json={"no_such_feature": 1}, timeout=10),
            httpx.post(f"{server.url}/predict", content=b"{not json", timeout=10),
            httpx.get(f"{server.url}/metrics", timeout=10),
            httpx.get(f"{server.url}/docs.json", timeout=10),
        ]
        assert [a.status_code for a in answers[:2]] == [200, 200], answers[0].text
        assert all(400 <= a.status_code < 500 for a in answers[2:4]), answers[2].text
        bodies += [ready.text, refused.text, *(a.text + str(a.headers) for a in answers)]
    text = log.read_text()
    assert "the declared credentials are present; loading the model" in text
    assert '"levelname": "DEBUG"' in text or '"level": "DEBUG"' in text, text[-2000:]
    assert leaks(text, *bodies) == []

    # The batch job: fails naming the credential, then scores with it from the environment.
    python = str(trained.repo / ".venv" / "bin" / "python")
    score = [python, "-m", f"{trained.package}.score"]
    batch_env = {**os.environ, **trained.env, **env, "CREDENTIALS_DIR": str(tmp_path / "none")}
    examples_file = tmp_path / "examples.parquet"
    run([*score, "--write-examples", str(examples_file)], cwd=trained.repo, env=batch_env)
    output = tmp_path / "scored"
    args = [*score, "--input", str(examples_file), "--output", str(output)]
    failed = run(args, cwd=trained.repo, env=batch_env, check=False, echo=False)
    assert failed.returncode == 1 and f"credential {NAME} missing" in failed.stderr, failed.stderr
    assert not output.exists()
    done = run(args, cwd=trained.repo, env={**batch_env, NAME: PLANTED}, echo=False)
    record = (output / "run.json").read_text()
    assert json.loads(record)["status"] == "succeeded"
    published = [p.read_bytes().decode("latin-1") for p in output.rglob("*") if p.is_file()]
    assert leaks(failed.stdout, failed.stderr, done.stdout, done.stderr, *published) == []
    # Negative control: the search finds the value where it is (the credential file).
    assert leaks((folder / NAME).read_text())


def test_the_repos_own_test_holds_the_values_to_the_contract(environments, tmp_path) -> None:
    """tests/test_credentials.py of the generated repo, run by its own pytest: it fails while the
    values lack the declared name, names it and says what to add; passes once they list it."""
    trained = environments.trained(home=tmp_path / "bentoml")
    shadow = overlay(trained, tmp_path / "overlay")
    chart = next((trained.repo / "deploy" / "helm").glob("*/Chart.yaml")).parent
    # The repo's test, run against a copy of the chart's values: the environment stays untouched.
    tests = tmp_path / "tests"
    tests.mkdir()
    copied = tmp_path / "deploy" / "helm" / chart.name
    shutil.copytree(chart, copied, symlinks=True, ignore=shutil.ignore_patterns("monitoring"))
    shutil.copy(trained.repo / "tests" / "test_credentials.py", tests)
    python = str(trained.repo / ".venv" / "bin" / "python")
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    env = {**os.environ, **trained.env, "PYTHONPATH": str(shadow)}
    before = run(pytest, cwd=tmp_path, env=env, check=False, echo=False)
    assert before.returncode == 1, before.stdout
    assert f"the contract declares {NAME} but secrets.credentials does not list" in before.stdout
    values = copied / "values.yaml"
    data = yaml.safe_load(values.read_text())
    data["secrets"]["credentials"] = [{"name": NAME}]
    data["secrets"]["existingSecret"] = "team-credentials"
    values.write_text(yaml.safe_dump(data, sort_keys=False))
    after = run(pytest, cwd=tmp_path, env=env, check=False, echo=False)
    assert after.returncode == 0, after.stdout
