"""A real image build with buildah (`make image` in a generated repo) and a real run with podman,
using the UID, read-only root filesystem and port the rendered chart gives the Deployment."""

import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import httpx
import pytest

from devkit import containers
from devkit.chart import by_kind, chart_dir, render
from devkit.load import ROW
from devkit.service import free_port, make

# A credential where a build could pick it up: the build's environment (a CI job's variables) and
# a developer's .env file in the build context (git ignores it). The layer test looks for it.
PLANTED = "planted-Vw7p-credential-value-4410"


@pytest.fixture(scope="module")
def built(environments, tmp_path_factory):
    missing = containers.missing_tools()
    assert not missing, f"missing {missing}: `make test` installs them (scripts/system-packages.sh)"
    # The ONNX example: a framework other than scikit-learn (the tutorial builds that one).
    trained = environments.trained(home=tmp_path_factory.mktemp("image"), model_framework="onnx")
    repo, env = trained.repo, trained.env
    base = containers.ensure_base_image()
    image = f"localhost/goldenpath-test-{uuid.uuid4().hex[:10]}:test"
    dotenv = repo / ".env"
    try:
        dotenv.write_text(f"SERVICE_TOKEN={PLANTED}\n")
        build_env = {**env, "SERVICE_TOKEN": PLANTED}
        try:
            make(repo, "image", f"BASE_IMAGE={base}", f"IMAGE={image}", env=build_env)
        finally:
            dotenv.unlink()
        tag = (repo / "build" / "model-tag").read_text().strip()
        yield repo, image, tag
    finally:
        containers.remove_image(image)


def pod_spec(repo: Path) -> dict:
    (deployment,) = by_kind(render(chart_dir(repo), {}), "Deployment")
    return deployment["spec"]["template"]["spec"]


def test_image_serves_as_the_chart_runs_it(built) -> None:
    repo, image, tag = built
    pod = pod_spec(repo)
    (container,) = pod["containers"]
    uid = pod["securityContext"]["runAsUser"]
    read_only = container["securityContext"]["readOnlyRootFilesystem"]
    assert read_only is True
    port = free_port()  # host networking: the chart's containerPort is remapped to a free one
    name = f"goldenpath-test-{uuid.uuid4().hex[:10]}"
    with containers.running(image, name=name, port=port, user=uid, read_only=read_only) as run:
        containers.wait_http_200(f"{run.url}/readyz", run)
        response = httpx.post(f"{run.url}/predict", json=ROW)
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == tag.split(":")[1]
        status = run.exec("cat", "/proc/1/status").stdout
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert set(uids) == {str(uid)}, f"process runs as {uids}, the chart says {uid}"
        write = run.exec("sh", "-c", "touch /opt/probe")
        assert write.returncode != 0, "the root filesystem must be read-only"


FRAMEWORKS = ("lightgbm", "xgboost", "onnxruntime")


def offline(image: str, entrypoint: str, *args: str):
    """Run a command in the image without a network."""
    return containers.sh(
        "podman",
        *containers.PODMAN_RUN_FLAGS,
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        entrypoint,
        image,
        *args,
    )


def test_image_has_no_compiler_caches_or_build_secrets(built) -> None:
    _, image, tag = built
    script = (
        "for c in gcc cc g++ make uv; do command -v $c && echo FOUND $c; done;"
        " find / -xdev -type d \\( -path '*/.cache/pip' -o -path '*/.cache/uv' \\) -print;"
        " ls -A /run/secrets 2>/dev/null; test -e /opt/uv && echo FOUND /opt/uv;"
        # What the builder deletes as neither the service nor the batch job loads it (decision 20).
        " find /opt/venv/lib -type d -name tests -print;"
        " find /opt/venv/lib \\( -name 'libarrow_flight.so*' -o -name '*.pxd' \\) -print; true"
    )
    done = offline(image, "/bin/sh", "-c", script)
    assert done.stdout.strip() == "", done.stdout
    # ... and what batch scoring reads and writes with still loads.
    arrow = "import pyarrow.compute, pyarrow.csv, pyarrow.dataset, pyarrow.parquet; print('ok')"
    assert offline(image, "/opt/venv/bin/python", "-c", arrow).stdout.strip() == "ok"
    probe = "import importlib.util as u; print(*[m for m in FRAMEWORKS if u.find_spec(m)])"
    frameworks = offline(
        image, "/opt/venv/bin/python", "-c", probe.replace("FRAMEWORKS", repr(FRAMEWORKS))
    )
    assert frameworks.stdout.split() == ["onnxruntime"], "the image carries only its framework"
    inspect = json.loads(containers.sh("podman", "image", "inspect", image).stdout)[0]
    env = "\n".join(inspect["Config"]["Env"])
    for secret in ("SSL_CERT_FILE", "PIP_CERT", "INDEX_URL", "PIP_INDEX"):
        assert secret not in env, f"{secret} persisted in the image environment"
    labels = inspect["Config"]["Labels"]
    assert labels["io.goldenpath.model-tag"] == tag
    assert labels["org.opencontainers.image.revision"]
    assert labels["io.goldenpath.template-version"]
    assert f"MODEL_TAG={tag}" in env
    assert inspect["Config"]["User"] == "10001:10001"


def test_image_scores_as_the_chart_cronjob_runs_it(built, tmp_path) -> None:
    """The one image also scores in batch: the CronJob's command, user and read-only root
    filesystem, input and output on a mounted volume; the run record names the baked-in model."""
    repo, image, tag = built
    values = {"batch": {"input": "/data/input.parquet", "output": "/data/output"}}
    values["batch"]["cronJob"] = {"enabled": True}
    (cron,) = by_kind(render(chart_dir(repo), values), "CronJob")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    uid = pod["securityContext"]["runAsUser"]
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the container's user writes its output here
    package = next((repo / "src").iterdir()).name
    # `make score-smoke`'s input: the contract's examples as a small Parquet file.
    subprocess.run(
        [
            str(repo / ".venv/bin/python"),
            "-m",
            f"{package}.score",
            "--write-examples",
            str(data / "input.parquet"),
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    done = containers.sh(
        "podman",
        *containers.PODMAN_RUN_FLAGS,
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--user",
        str(uid),
        "--volume",
        f"{data}:/data",
        "--entrypoint",
        container["command"][0],
        image,
        *container["command"][1:],
        *container["args"],
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert container["command"][2] == f"{package}.score"
    record = json.loads((data / "output" / "run.json").read_text())
    assert record["status"] == "succeeded" and record["model_tag"] == tag
    assert record["rows"]["rejected"] == 0 and record["rows"]["scored"] >= 1
    assert record["git_commit"] not in ("", "unknown") and record["template_version"]


def test_image_layers_hold_no_credential(built, tmp_path) -> None:
    """Every layer and the image's configuration, read byte for byte from `podman save`: the
    credential in the build's environment and in the context's .env is in none of them. The
    search finds a file the image does carry (config/scoring.toml), so it does read the layers."""
    repo, image, _ = built
    archive = tmp_path / "image.tar"
    containers.sh("podman", "save", "--format", "docker-archive", "-o", str(archive), image)
    carried = (repo / "config" / "scoring.toml").read_bytes()
    found = {"planted": [], "carried": []}
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            blob = outer.extractfile(member)
            if blob is None:
                continue
            head = blob.read(512)
            blob.seek(0)
            if head[257:262] == b"ustar":
                with tarfile.open(fileobj=blob) as layer:
                    for entry in layer.getmembers():
                        # Regular files only: a link's bytes are its target's, read as that file.
                        inner = layer.extractfile(entry) if entry.isfile() else None
                        content = inner.read() if inner is not None else b""
                        for key, needle in (("planted", PLANTED.encode()), ("carried", carried)):
                            if needle in content or needle in entry.name.encode():
                                found[key].append(f"{member.name}:{entry.name}")
            elif PLANTED.encode() in blob.read():
                found["planted"].append(member.name)
    archive.unlink()
    assert found["planted"] == [], found["planted"]
    assert found["carried"], "the search read no layer: config/scoring.toml was not found"
