"""`make demo`, the main job: scaffold, train, serve, and a real prediction printed."""

import json
import os
import subprocess
import sys

from goldenpath.localservice import http, make_serve, serving


def test_demo_prints_a_real_prediction(tmp_path) -> None:
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "goldenpath", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = dict(
        line.split(":", 1) for line in done.stdout.splitlines() if line and ":" in line[:16]
    )
    prediction = json.loads(lines["prediction"])
    assert prediction["label"] == "setosa"  # the default contract's first example is a setosa
    assert set(prediction["probabilities"]) == {"setosa", "versicolor", "virginica"}
    tag = lines["model tag"].strip()
    assert tag.startswith("iris-classifier:")
    assert prediction["model_version"] == tag.split(":")[1]
    assert (workdir / "iris-classifier" / ".copier-answers.yml").is_file()
    assert "ERROR" not in (workdir / "serve.log").read_text()
    # The last line's hint holds from a plain shell: `make serve` finds the model trained above.
    repo = workdir / "iris-classifier"
    assert f"cd {repo} && make serve" in done.stdout.splitlines()[-1]
    assert "BENTOML_HOME" not in os.environ
    with serving(make_serve, cwd=repo, log=tmp_path / "again.log", group=True) as server:
        assert http("GET", f"{server.url}/readyz")[0] == 200


def test_demo_refuses_a_folder_it_did_not_make(tmp_path) -> None:
    workdir = tmp_path / "mine"
    workdir.mkdir()
    (workdir / "thesis.tex").write_text("years of work")
    done = subprocess.run(
        [sys.executable, "-m", "goldenpath", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"--workdir {workdir} is not empty and is not an earlier demo" in done.stderr
    assert (workdir / "thesis.tex").read_text() == "years of work"


def test_demo_fails_loudly_when_a_step_fails(tmp_path) -> None:
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "goldenpath", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/nonexistent", "HOME": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "demo failed" in done.stderr
