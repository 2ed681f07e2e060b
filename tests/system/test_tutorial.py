"""The tutorial "Ship your first model" runs as written: its shell blocks, in order, in a temporary
folder, against a tagged copy of this template (a real render, training, server, image build and
promtool run)."""

import os
import socket
import subprocess

from devkit import containers
from devkit.project import git
from devkit.releases import tagged_template
from devkit.service import free_port
from devkit.tutorial import tutorial_blocks


def test_tutorial_runs_as_written(tmp_path) -> None:
    base = containers.ensure_base_image()
    # A committed copy of the template: a render must name a revision a later update can find.
    template = tagged_template(tmp_path / "template")
    work = tmp_path / "work"
    work.mkdir()
    script = ["set -euo pipefail", f"cd {work}"]
    for mark, body in tutorial_blocks():
        if mark == "run":
            script.append(body)
    env = {
        **os.environ,
        "TEMPLATE": str(template),
        "PORT": str(free_port()),
        "BASE_IMAGE": base,
        "CONTAINERS_CONF": str(containers.containers_conf()),
    }
    # One stream in the order written, so a failure's last lines are the failing command's.
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    output = done.stdout
    assert done.returncode == 0, output[-6000:]
    assert '"model_version"' in done.stdout and "HTTP/1.1 200" in done.stdout
    assert '"petal_width_cm"],"msg":"Field required"' in done.stdout  # the 400 names the field
    assert '"error":"petal_width_cm: Field required"' in done.stdout  # in the contract's words
    assert done.stdout.count('"model_version"') >= 2  # the curl and `make request` predictions
    assert "SUCCESS" in output  # promtool
    # The default answers' full generated tier (tests/generated/test_frameworks.py leaves it to
    # this test): `make test` and `make lint` quiet, and nothing the tutorial ran changed a file.
    assert "warnings summary" not in output, output[output.find("warnings summary") :][:3000]
    assert git(work / "iris-classifier", "status", "--porcelain") == ""
    with socket.socket() as probe:  # the tutorial stopped its server
        assert probe.connect_ex(("127.0.0.1", int(env["PORT"]))) != 0, "the server is still running"
    containers.remove_image("localhost/iris-classifier:tutorial")
