"""The model registry (model_registry=mlflow) against a real `mlflow server` on 127.0.0.1: the
generated repo's own MLflow, a SQLite backend and a local artifact root.

From a generated repo: `make train` registers version 1 with its lineage; `make register
ARTIFACT=` of a model saved outside the repo registers version 2, while an unreadable artifact and
one that fails the quality gate are refused with no version created; `make promote` refuses a
missing version and moves `candidate`; a fresh clone with an empty model store pulls `candidate`
and serves it, its X-Model-Version and model_info naming the registry version; the release's
deployment records (staging, production) are written on the versions, `make deployments` prints
them newest first, and `make rollback` redeploys the previous production digest and moves the
aliases back, recorded. A second server runs MLflow's basic-auth app: wrong credentials fail naming
the variables; an address nothing answers fails naming it. And `model_registry=none` renders
exactly the repo of the commit before the question existed.

No cluster can run here: `helm` is a script on PATH that records its arguments, so the test sees
the digest `make rollback` deploys. MLflow and BentoML are the real ones.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import secrets
import socket
import stat
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devkit.project import assert_merged_cleanly, commit_all, git, scaffold_at
from devkit.releases import NEW, tagged_template
from goldenpath.localservice import http, make_serve, serving
from goldenpath.proc import run
from goldenpath.render import render
from tools.golden import files_of, read_entry

ROOT = Path(__file__).resolve().parents[2]
NAME = "iris-classifier"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
# The CI variables a GitHub Actions run sets; the registry records the run's address from them.
CI = {
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "acme/iris-classifier",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_ACTOR": "release-approver",
}
SAVE_OUTSIDE = """
import sys
from pathlib import Path

import numpy as np

from iris_classifier import contract
from iris_classifier.training import load_config

config = load_config(Path("config/training.toml"))
config["model"]["C"] = 0.5
result = contract.train(config)
if sys.argv[2] == "shuffled":  # a model that learned nothing: it must fail the quality gate
    result.model.fit(result.features, np.random.default_rng(0).permutation(result.target))
out = Path(sys.argv[1])
out.mkdir(parents=True)
contract.save(result.model, out)
"""


def _make(repo: Path, env: dict[str, str], *args: str, check: bool = True) -> str:
    done = run(["make", *args], cwd=repo, env=env, echo=False, check=check, timeout=600)
    return done.stdout + done.stderr


def _mlflow_server(repo: Path, where: Path, *extra: str, env: dict[str, str] | None = None):
    """The generated repo's own `mlflow server` on a free loopback port (bounded start)."""
    where.mkdir(parents=True, exist_ok=True)
    mlflow = str(repo / ".venv/bin/mlflow")

    def command(port: int) -> list[str]:
        return [
            mlflow,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{where / 'mlflow.db'}",
            "--artifacts-destination",
            str(where / "artifacts"),
            "--workers",
            "1",
            *extra,
        ]

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **(env or {})}
    # Without the job runner (MLflow's GenAI jobs: a runner and seven huey consumers, each importing
    # MLflow), which nothing of the registry uses: half the CPU of a start (11 s against 22).
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    # ready=False: up once it answers at all (MLflow has no /readyz); then /health must say OK.
    return serving(command, cwd=where, log=where / "server.log", env=env, ready=False, group=True)


def _api(url: str, endpoint: str, **query: str) -> dict:
    query_string = urllib.parse.urlencode(query)
    status, _, body = http("GET", f"{url}/api/2.0/mlflow/{endpoint}?{query_string}")
    assert status == 200, body
    return json.loads(body)


def _versions(url: str) -> dict[str, dict]:
    found = _api(url, "model-versions/search", filter=f"name='{NAME}'")
    return {
        v["version"]: {**v, "tags": {t["key"]: t["value"] for t in v.get("tags", [])}}
        for v in found.get("model_versions", [])
    }


def _aliases(url: str) -> dict[str, str]:
    model = _api(url, "registered-models/get", name=NAME)["registered_model"]
    return {a["alias"]: a["version"] for a in model.get("aliases", [])}


def _twice_at_once(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> list[str]:
    """Two runs of command started together; both must succeed. Their outputs."""
    both = [
        subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=timeout)[0] for process in both]
    assert [process.returncode for process in both] == [0, 0], "\n\n".join(outputs)[-8000:]
    return outputs


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The default render (model_registry=mlflow), committed, with `make setup` done."""
    repo = render(tmp_path_factory.mktemp("registry") / "repo")
    commit_all(repo, "Scaffold")
    _make(repo, {"BENTOML_HOME": str(repo.parent / "bentoml")}, "setup")
    return repo


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[str]:
    with _mlflow_server(repo, repo.parent / "mlflow") as running:
        status, _, body = http("GET", f"{running.url}/health", timeout=5)
        assert status == 200, body
        yield running.url


def test_train_register_promote_pull_serve_record_roll_back(
    repo: Path, server: str, tmp_path: Path
) -> None:
    env = {"BENTOML_HOME": str(repo.parent / "bentoml"), "MLFLOW_TRACKING_URI": server}

    # `make train`: version 1, after the quality gate, with its lineage as version tags.
    out = _make(repo, {**env, **CI}, "train")
    tag = re.search(rf"^registered ({NAME}:\w+)$", out, re.M).group(1)
    seconds = float(re.search(r"version 1 .* in ([0-9.]+) s$", out, re.M).group(1))
    print(f"make train spent {seconds:.1f} s registering in the MLflow server")
    one = _versions(server)["1"]["tags"]
    assert one["bentoml_tag"] == tag
    assert one["git_commit"] == git(repo, "rev-parse", "HEAD")
    assert one["git_dirty"] == "false"
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert str(answers["_commit"]) == one["template_version"]
    assert re.fullmatch(r"[0-9a-f]{64}", one["training_data_sha256"])
    assert float(one["metric.accuracy"]) >= 0.9
    assert json.loads(one["params"]) == {"C": 1.0, "max_iter": 500}
    assert one["ci_run_url"] == "https://github.example/acme/iris-classifier/actions/runs/4242"
    assert one["quality_gate"] == "passed"

    # A model trained elsewhere, saved outside the repo with the contract's save: version 2.
    python = str(repo / ".venv/bin/python")
    outside = tmp_path / "handed-over"
    run([python, "-c", SAVE_OUTSIDE, str(outside / "good"), "good"], cwd=repo, echo=False)
    out = _make(repo, env, "register", f"ARTIFACT={outside / 'good'}")
    assert f"registered {NAME} version 2" in out, out
    two = _versions(server)["2"]["tags"]
    assert two["source"] == f"make register ARTIFACT={outside / 'good'}"
    assert two["training_data_sha256"] == "unknown: trained elsewhere"
    assert re.fullmatch(r"[0-9a-f]{64}", two["evaluation_data_sha256"])
    assert float(json.loads(two["evaluation_metrics"])["accuracy"]) >= 0.9

    # Refused, naming why, and no version created: files load cannot read, a gate failure.
    (outside / "broken").mkdir()
    (outside / "broken" / "model.joblib").write_text("not a model")
    out = _make(repo, env, "register", f"ARTIFACT={outside / 'broken'}", check=False)
    assert "refused: contract.py's load could not read" in out, out
    run([python, "-c", SAVE_OUTSIDE, str(outside / "shuffled"), "shuffled"], cwd=repo, echo=False)
    out = _make(repo, env, "register", f"ARTIFACT={outside / 'shuffled'}", check=False)
    assert "refused: the quality gate failed on the contract's evaluation data" in out, out
    assert sorted(_versions(server)) == ["1", "2"]

    # Before any promotion, a release (which pulls candidate) fails naming the command to run.
    out = _make(repo, env, "pull-model", "ALIAS=candidate", check=False)
    assert "set it with `make promote VERSION=<n> ALIAS=candidate`" in out, out

    # Promotion: a version that does not exist is refused by name; version 2 becomes candidate.
    out = _make(repo, env, "promote", "VERSION=7", "ALIAS=candidate", check=False)
    assert f"model {NAME} has no version 7" in out, out
    _make(repo, env, "promote", "VERSION=2", "ALIAS=candidate")
    assert _aliases(server) == {"candidate": "2"}

    # A machine that never trained: a fresh clone, an empty model store.
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(repo), str(clone)], echo=False)
    fresh = {"BENTOML_HOME": str(tmp_path / "empty-store"), "MLFLOW_TRACKING_URI": server}
    _make(clone, fresh, "setup")
    out = _make(clone, fresh, "pull-model", "ALIAS=candidate")
    assert f"pulled {NAME} version 2 (alias candidate)" in out, out
    log = tmp_path / "serve.log"
    with serving(
        make_serve, cwd=clone, log=log, env={**os.environ, **fresh}, group=True
    ) as running:
        payload = run(
            [str(clone / ".venv/bin/python"), "-m", "iris_classifier.payloads"], cwd=clone
        )
        body = json.loads(payload.stdout)
        status, headers, text = http("POST", f"{running.url}/predict", body)
        assert status == 200, text
        version = json.loads(text)["model_version"]
        header = {k.lower(): v for k, v in headers.items()}["x-model-version"]
        assert header == f"{version}; registry={NAME}/2"
        metrics = http("GET", f"{running.url}/metrics")[2]
        assert re.search(r'model_info\{[^}]*registry_version="2"', metrics), metrics[-2000:]
    assert f"serving {NAME} version 2" in log.read_text()
    assert "pulled by `make pull-model` (alias candidate)" in log.read_text()

    # A batch run with the pulled model records the registry version beside the BentoML tag.
    _make(clone, fresh, "score-smoke")
    run_record = json.loads((clone / "build/score-smoke/output/run.json").read_text())
    assert run_record["status"] == "succeeded", run_record
    assert (run_record["registered_model"], run_record["registry_version"]) == (NAME, "2")
    assert run_record["model_tag"] == f"{NAME}:{version}"

    # The release pipeline's records, as its jobs run them: version 1 went to production first
    # (digest A), then version 2 (digest B) through staging to production.
    deploy = {**fresh, **CI}
    _make(clone, deploy, "deployment-record", "ENV=production", f"DIGEST={DIGEST_A}", "VERSION=1")
    _make(clone, deploy, "deployment-record", "ENV=staging", f"DIGEST={DIGEST_B}")
    moved = time.monotonic()
    _make(clone, deploy, "deployment-record", "ENV=production", f"DIGEST={DIGEST_B}")
    assert _aliases(server) == {"candidate": "2", "production": "2"}
    record = json.loads((clone / "build/deployment-record.json").read_text())
    assert record["environment"] == "production"
    assert record["digest"] == DIGEST_B
    assert record["approver"] == "release-approver"
    assert (
        record["pipeline_run"]
        == CI["GITHUB_SERVER_URL"] + "/acme/iris-classifier/actions/runs/4242"
    )
    assert record["previous_production_version"] == "1"
    assert record["commit"] == git(clone, "rev-parse", "HEAD")

    # Roll back: the previous production digest is redeployed, the aliases move back, recorded.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "helm.log"}\n')
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    out = _make(clone, {**deploy, "PATH": path}, "rollback", "ENV=production")
    rolled = time.monotonic() - moved
    print(f"from moving production to version 2 to the rollback recorded: {rolled:.1f} s")
    assert f"image.digest={DIGEST_A}" in (tmp_path / "helm.log").read_text()
    assert _aliases(server) == {"candidate": "1", "production": "1"}
    history = _make(clone, fresh, "deployments").splitlines()
    aliases_line = "aliases: candidate -> 1, production -> 1"
    assert any(line.endswith(aliases_line) for line in history), history
    rows = [line for line in history if re.match(r"^\d{4}-", line)]
    assert [row.split()[1:3] for row in rows] == [
        ["rollback", "production"],
        ["deploy", "production"],
        ["deploy", "staging"],
        ["deploy", "production"],
    ], history
    assert DIGEST_A in rows[0] and "version 1" in rows[0]
    assert [row.split()[0] for row in rows] == sorted(
        (row.split()[0] for row in rows), reverse=True
    )


def test_wrong_credentials_and_no_answer_name_what_to_fix(repo: Path, tmp_path: Path) -> None:
    env = {"BENTOML_HOME": str(tmp_path / "bentoml")}
    where = tmp_path / "auth"
    where.mkdir()
    (where / "auth.ini").write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{where / 'auth.db'}\n"
        "admin_username = admin\nadmin_password = a-long-test-password-1\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    config = {
        "MLFLOW_AUTH_CONFIG_PATH": str(where / "auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    with _mlflow_server(repo, where, "--app-name", "basic-auth", env=config) as running:
        wrong = {
            **env,
            "MLFLOW_TRACKING_URI": running.url,
            "MLFLOW_TRACKING_USERNAME": "admin",
            "MLFLOW_TRACKING_PASSWORD": "not-the-password",
        }
        out = _make(repo, wrong, "train", check=False)
        assert "refused the credentials: set MLFLOW_TRACKING_USERNAME" in out, out
        assert "MLFLOW_TRACKING_PASSWORD" in out
        assert "not-the-password" not in out
        right = {**wrong, "MLFLOW_TRACKING_PASSWORD": "a-long-test-password-1"}
        assert f"registered {NAME} version 1" in _make(repo, right, "train")
    # A port held bound and never listening, so connections are refused. Its number has 401 in it:
    # the message once called a registry at port 40189 one that refused the credentials.
    with socket.socket() as held:
        _bind_one_of(held, range(40100, 40200))
        nobody = f"http://127.0.0.1:{held.getsockname()[1]}"
        started = time.monotonic()
        out = _make(repo, {**env, "MLFLOW_TRACKING_URI": nobody}, "train", check=False)
    assert f"the model registry at {nobody} does not answer" in out, out
    assert time.monotonic() - started < 180


def _bind_one_of(sock: socket.socket, ports: range) -> None:
    for port in ports:
        with contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", port))
            return
    pytest.fail(f"no free port in {ports}")


def test_no_registry_renders_no_trace_of_the_registry(tmp_path: Path) -> None:
    """model_registry=none is the repository without a registry: no registry module, no MLflow in
    its dependencies, lock or any file, no registry targets; mlflow renders them all. (On the branch
    that added the question this test compared the render, file for file, with main's.)"""
    answers = {"ci_provider": "gitlab", "model_framework": "lightgbm"}
    none = render(tmp_path / "none", {**answers, "model_registry": "none"})
    mlflow = render(tmp_path / "mlflow", {**answers, "model_registry": "mlflow"})

    def mentions(root: Path) -> set[str]:
        found = set()
        for rel in files_of(root):
            text = read_entry(root / rel)
            named = re.search(
                r"mlflow|MLFLOW|model_registry|make (register|promote|pull-model)", text
            )
            if named and rel.name != ".copier-answers.yml":
                found.add(str(rel))
        return found

    assert mentions(none) == set(), mentions(none)
    assert {"pyproject.toml", "uv.lock", "Makefile"} <= mentions(mlflow)
    assert not list(none.rglob("registry/")) and list(mlflow.rglob("registry/__main__.py"))


def test_the_image_installs_no_mlflow(repo: Path) -> None:
    """MLflow is in the dev group only: the Dockerfile's `uv sync --no-dev` set has none of it."""
    dockerfile = (repo / "Dockerfile").read_text()
    syncs = re.findall(r"uv sync [^\n]*", dockerfile)
    assert syncs and all("--no-dev" in line for line in syncs), syncs
    image = run(
        ["uv", "export", "--locked", "--no-dev", "--no-hashes", "--no-emit-project", "--quiet"],
        cwd=repo,
        echo=False,
    ).stdout
    dev = run(["uv", "export", "--locked", "--no-hashes", "--quiet"], cwd=repo, echo=False).stdout
    assert re.search(r"^mlflow==3\.17\.", dev, re.M), "MLflow 3.17 is locked for development"
    assert "mlflow" not in image.lower()


def test_a_shifted_model_is_refused_unless_forced_and_two_at_once_both_land(
    repo: Path, server: str, tmp_path: Path
) -> None:
    env = {"BENTOML_HOME": str(repo.parent / "bentoml"), "MLFLOW_TRACKING_URI": server}
    out = _make(repo, env, "promote", "VERSION=1", "ALIAS=production", check=False)
    assert "refused: alias production follows production deployments" in out, out
    aliases = _aliases(server) if _versions(server) else {}
    if not ({"production", "candidate"} & set(aliases)):  # run alone: make a version to compare
        _make(repo, env, "train")
        _make(
            repo, env, "promote", f"VERSION={max(map(int, _versions(server)))}", "ALIAS=candidate"
        )
        aliases = _aliases(server)
    against = aliases.get("production") or aliases["candidate"]

    # Sharper probabilities (C=100) pass the quality gate but move 45% of the evaluation rows.
    sharper = tmp_path / "sharper"
    script = SAVE_OUTSIDE.replace('config["model"]["C"] = 0.5', 'config["model"]["C"] = 100.0')
    run([str(repo / ".venv/bin/python"), "-c", script, str(sharper), "good"], cwd=repo, echo=False)
    before = set(_versions(server))
    out = _make(repo, env, "register", f"ARTIFACT={sharper}", check=False)
    assert f"rows moved by more than 0.1 against version {against}" in out, out
    assert "FORCE=1 registers it anyway" in out
    assert set(_versions(server)) == before
    out = _make(repo, env, "register", f"ARTIFACT={sharper}", "FORCE=1")
    forced = max(set(_versions(server)) - before, key=int)
    tags = _versions(server)[forced]["tags"]
    assert tags["prediction_shift_forced"] == "true"
    assert json.loads(tags["prediction_shift"])["against_version"] == against
    assert json.loads(tags["prediction_shift"])["shifted_share"] > 0.05

    # Two trainings at once: two complete versions, each with its own run and artifact.
    before = set(_versions(server))
    outputs = _twice_at_once(["make", "train"], repo, {**os.environ, **env}, timeout=600)
    new = set(_versions(server)) - before
    assert len(new) == 2, outputs
    runs = set()
    for version in new:
        found = _versions(server)[version]
        assert found["status"] == "READY" and found["tags"]["quality_gate"] == "passed"
        listed = _api(server, "artifacts/list", run_id=found["run_id"], path="model")
        sizes = [f.get("file_size", 0) for f in listed.get("files", [])]
        assert sizes and all(size > 0 for size in sizes), listed
        runs.add(found["run_id"])
    assert len(runs) == 2


SAVE_MANY = """
import sys
from pathlib import Path

from iris_classifier.training import load_config, register, train

config = load_config(Path("config/training.toml"))
result = train(config)
print(len({register(result, config) for _ in range(int(sys.argv[1]))}))
"""


def test_saves_into_one_model_store_at_once_all_land(repo: Path, tmp_path: Path) -> None:
    """BentoML's store rewrites its `latest` file in place after a save and reads it back: beside
    another save, about one in forty failed (an empty `latest`, a version without `model.yaml`),
    which lost one of two `make train` run at once. The store lock (model.store_writer) holds
    them apart: two processes, 80 saves each through training's own register, all land."""
    store = tmp_path / "store"
    env = {**os.environ, "BENTOML_HOME": str(store)}
    command = [str(repo / ".venv/bin/python"), "-c", SAVE_MANY, "80"]
    outputs = _twice_at_once(command, repo, env, timeout=300)
    assert [output.split()[-1] for output in outputs] == ["80", "80"], outputs
    models = store / "models" / NAME
    versions = {path.name for path in models.iterdir() if path.is_dir()}
    assert len(versions) == 160 and all((models / v / "model.yaml").is_file() for v in versions)
    assert (models / "latest").read_text().strip() in versions


def test_a_v0_4_0_repo_updates_cleanly_and_registers_its_stored_model_without_retraining(
    tmp_path: Path,
) -> None:
    """Issue 26, existing repos: a v0.4.0 repo with a model in its local store takes the registry as
    an ordinary update (no conflict), and registers that model (no training) once its contract has
    the two functions the CHANGELOG names; until then `make register` says what to add."""
    template = tagged_template(tmp_path / "template")
    repo = scaffold_at(template, tmp_path / "repo", "v0.4.0")
    env = {"BENTOML_HOME": str(tmp_path / "bentoml")}
    _make(repo, env, "setup", "train")
    (stored,) = _stored_tags(repo, env)

    update = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--vcs-ref", NEW]
    run(update, cwd=repo, echo=False)
    assert_merged_cleanly(repo)
    assert "src/iris_classifier/contract.py" not in git(repo, "status", "--porcelain")
    commit_all(repo, f"Update to {NEW}")
    _make(repo, env, "setup")
    out = _make(repo, env, "register", f"MODEL_TAG={stored}", check=False)
    assert "contract.py defines no evaluation_data(config) and evaluate(" in out, out

    # The team's change: the two functions, as the template's example contract has them.
    example = (ROOT / "tests/golden/default/src/iris_classifier/contract.py").read_text()
    wanted = ("evaluation_data", "evaluate")
    functions = [
        ast.get_source_segment(example, node)
        for node in ast.parse(example).body
        if isinstance(node, ast.FunctionDef) and node.name in wanted
    ]
    contract = repo / "src/iris_classifier/contract.py"
    contract.write_text(contract.read_text() + "\n\n" + "\n\n\n".join(functions) + "\n")
    out = _make(repo, env, "register", f"MODEL_TAG={stored}")
    # Version 1: the refusal above created none; the store holds no new model: nothing retrained.
    assert f"registered {NAME} version 1 ({stored})" in out, out
    assert _stored_tags(repo, env) == [stored]


def _stored_tags(repo: Path, env: dict[str, str]) -> list[str]:
    listed = run(
        [str(repo / ".venv/bin/bentoml"), "models", "list", "-o", "json"],
        cwd=repo,
        env=env,
        echo=False,
    )
    return [model["tag"] for model in json.loads(listed.stdout)]
