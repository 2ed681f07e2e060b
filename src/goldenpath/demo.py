"""`goldenpath demo`: scaffold, train, serve and query a model service, end to end.

Renders the template with its default answers into build/demo/, commits the new repo, trains and
registers the example model (in the repo's own model store, as `make` keeps it), serves it on a
free loopback port, sends a real prediction, prints the answer, and stops the server. Any failure
exits non-zero. A --workdir that holds anything but an earlier demo is refused, never emptied.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import TEMPLATE_ROOT
from .localservice import http, make_serve, registered_tag, scaffold, serving
from .proc import CommandError, run

# Marks a folder as the demo's own, so that a later demo may empty it.
MARKER = ".goldenpath-demo"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "golden-path demo",
    "GIT_AUTHOR_EMAIL": "demo@localhost",
    "GIT_COMMITTER_NAME": "golden-path demo",
    "GIT_COMMITTER_EMAIL": "demo@localhost",
}


class NotADemoFolder(RuntimeError):
    """--workdir holds something the demo did not make."""


def prepare(workdir: Path) -> None:
    """An empty workdir: made, or emptied when an earlier demo made it; anything else refused."""
    if workdir.exists():
        if not workdir.is_dir():
            raise NotADemoFolder(f"--workdir {workdir} is a file, not a folder")
        if any(workdir.iterdir()) and not (workdir / MARKER).is_file():
            raise NotADemoFolder(
                f"--workdir {workdir} is not empty and is not an earlier demo (no {MARKER}):"
                " give an empty or new folder; nothing was deleted"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by `goldenpath demo`, which empties this folder\n")


def demo(workdir: Path) -> int:
    repo = workdir / "iris-classifier"
    # No BENTOML_HOME: the repo's Makefile keeps its model store in bentoml_home/, so a later
    # `make serve` from a plain shell finds the model trained here.
    env = {"BENTOML_DO_NOT_TRACK": "true"}
    prepare(workdir)

    print(f"1/5 scaffolding the default service into {repo}", flush=True)
    scaffold(repo, {}, GIT_IDENTITY, "Scaffold from the golden-path template", src=TEMPLATE_ROOT)

    print("2/5 installing the locked dependencies", flush=True)
    run(["make", "setup"], cwd=repo, env=env)

    print("3/5 training and registering the model", flush=True)
    trained = run(["make", "train"], cwd=repo, env=env)
    tag = registered_tag(trained.stdout)
    print(trained.stdout.strip(), flush=True)

    # The request is the first example of the repo's model contract, as `make request` sends it.
    package = repo.name.replace("-", "_")
    example = run(
        ["uv", "run", "--locked", "--all-extras", "python", "-m", f"{package}.payloads"],
        cwd=repo,
        env=env,
    )
    sample = json.loads(example.stdout)

    log = workdir / "serve.log"
    print(f"4/5 serving {tag} on a free loopback port (log: {log})", flush=True)
    with serving(make_serve, cwd=repo, log=log, env={**os.environ, **env}, group=True) as server:
        print(f"5/5 POST {server.url}/predict {json.dumps(sample)}", flush=True)
        status, headers, body = http("POST", f"{server.url}/predict", sample)
    if status != 200:
        print(f"prediction failed with HTTP {status}: {body}", file=sys.stderr)
        return 1
    print()
    print(f"prediction:     {body}")
    print(f"model tag:      {tag}")
    print(f"model version:  {headers.get('x-model-version')} (X-Model-Version header)")
    print(f"service repo:   {repo}")
    print(f"model store:    {repo / 'bentoml_home'}")
    print(f"server log:     {log}")
    print(f"the server has been stopped; `cd {repo} && make serve` starts it again")
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goldenpath demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("build") / "demo",
        help="where the service is scaffolded (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return demo(args.workdir.resolve())
    except NotADemoFolder as error:
        print(f"demo refused: {error}", file=sys.stderr)
        return 2
    except (CommandError, RuntimeError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
