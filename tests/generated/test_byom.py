"""Bring your own model: a team replaces the example with a model of another task, feature count,
feature types and framework by editing only its own files, and a later template release that
changes the service, metrics, drift, generic tests, dashboard and alerts merges with zero
conflicts."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from packaging.version import Version

from devkit.project import assert_merged_cleanly, commit_all, git, scaffold_at
from devkit.releases import NEW, tagged_template
from devkit.service import make

ROOT = Path(__file__).resolve().parents[2]
# A release after the newest: the template edits of NEXT_RELEASE, tagged in the test.
NEXT = f"v{Version(NEW).major}.{Version(NEW).minor}.{Version(NEW).micro + 1}"
MODEL = Path("templates/model-service")
PACKAGE = MODEL / "src/{{ package_name }}"

# A regression on the team's own (synthetic) data, with LightGBM, a categorical and a nullable
# feature, and five features where the example has four.
CONTRACT = '''\
"""House prices from five facts about a house: the team's own model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split

from .spec import Categorical, Numeric, Regression, TrainingResult, encode

TASK = Regression()

DISTRICTS = ("north", "south", "east", "west")
FEATURES = (
    Numeric("area_m2", minimum=10.0, maximum=1000.0, description="Living area."),
    Numeric("rooms", minimum=1.0, maximum=20.0, description="Number of rooms."),
    Categorical("district", values=DISTRICTS, description="Where the house is."),
    Numeric("age_years", minimum=0.0, maximum=200.0, nullable=True, description="If known."),
    Numeric("distance_km", minimum=0.0, maximum=100.0, description="To the centre."),
)

EXAMPLES = (
    {"area_m2": 80.0, "rooms": 3, "district": "north", "age_years": 20.0, "distance_km": 5.0},
    {"area_m2": 150.0, "rooms": 5, "district": "west", "age_years": None, "distance_km": 12.0},
)


def load_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 3000
    area = rng.uniform(30, 300, n)
    rooms = np.clip(np.round(area / 40 + rng.normal(0, 1, n)), 1, 20)
    district = rng.integers(0, len(DISTRICTS), n)
    age = rng.uniform(0, 100, n)
    distance = rng.uniform(0, 50, n)
    price = 3.0 * area + 10 * rooms + 40 * district - 0.5 * age - 2 * distance
    price = price + rng.normal(0, 20, n)
    rows = [
        {
            "area_m2": area[i],
            "rooms": rooms[i],
            "district": DISTRICTS[district[i]],
            "age_years": None if i % 10 == 0 else age[i],
            "distance_km": distance[i],
        }
        for i in range(n)
    ]
    return encode(FEATURES, rows), price


def train(config: dict[str, Any]) -> TrainingResult:
    params = config["model"]
    features, target = load_data()
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=config["data"]["test_size"], random_state=1
    )
    estimator = lightgbm.LGBMRegressor(
        n_estimators=params["n_estimators"], learning_rate=0.1, n_jobs=1, verbose=-1
    )
    estimator.fit(x_train, y_train, categorical_feature=[2])
    predicted = predict(estimator.booster_, x_test)
    metrics = {
        "mae": float(mean_absolute_error(y_test, predicted)),
        "r2": float(r2_score(y_test, predicted)),
    }
    return TrainingResult(
        model=estimator.booster_,
        metrics=metrics,
        features=x_train,
        target=y_train,
        dataset="synthetic houses, seed 7",
        n_test=len(y_test),
        params=params,
    )


def save(model: lightgbm.Booster, directory: Path) -> None:
    model.save_model(directory / "houses.txt")


def load(directory: Path) -> lightgbm.Booster:
    return lightgbm.Booster(model_file=directory / "houses.txt")


def predict(model: lightgbm.Booster, features: np.ndarray) -> np.ndarray:
    return model.predict(features, num_threads=1)
'''

TRAINING = """\
[data]
test_size = 0.2

[model]
n_estimators = 200

[quality_gate]
max_mae = 40.0
min_r2 = 0.9
"""

TEAM_TEST = '''\
"""The team's own checks of its house-price model."""

from PKG.contract import EXAMPLES, FEATURES, predict
from PKG.spec import TrainingResult, encode


def test_a_bigger_house_in_the_west_costs_more(training_result: TrainingResult) -> None:
    small, big = predict(training_result.model, encode(FEATURES, EXAMPLES))
    assert big > small
'''

# Standards changes of the next release, in the files a model change used to touch.
NEXT_RELEASE = {
    PACKAGE / "service.py.jinja": (
        "    def __is_ready__(self) -> bool:\n",
        "    def __is_ready__(self) -> bool:\n"
        "        # Ready only with a model that passed its warm-up.\n",
    ),
    PACKAGE / "metrics.py.jinja": (
        '"Null (missing) values received for each nullable input."',
        '"Null (missing) values received per nullable input feature."',
    ),
    PACKAGE / "drift.py": ("WINDOW_ROWS = 2000\n", "WINDOW_ROWS = 3000\n"),
    MODEL / "tests/test_http.py.jinja": (
        "def test_ready_after_start(client) -> None:\n",
        "def test_the_service_answers_its_openapi_document(client) -> None:\n"
        '    assert client.get("/docs.json").status_code == 200\n\n\n'
        "def test_ready_after_start(client) -> None:\n",
    ),
    MODEL / "monitoring/dashboards/{{ service_name }}.json.jinja": (
        '"Null values received per nullable feature."',
        '"Null values received per nullable feature; a rise means an upstream gap."',
    ),
    MODEL / "monitoring/rules/service.yml.jinja": (
        "(above the threshold of config/alerts.toml): predictions may be degrading.",
        "(above the threshold of config/alerts.toml): predictions may be degrading; see its panel.",
    ),
}


def release_next(template: Path) -> None:
    for path, (old, new) in NEXT_RELEASE.items():
        text = (template / path).read_text()
        assert old in text, f"{path} no longer has {old!r}: update tests/generated/test_byom.py"
        (template / path).write_text(text.replace(old, new, 1))
    commit_all(template, f"Release {NEXT}")
    git(template, "tag", NEXT)


def owners() -> dict[str, str]:
    """docs/reference/generated-files.md: path pattern -> owner."""
    table = (ROOT / "docs" / "reference" / "generated-files.md").read_text()
    return dict(re.findall(r"^\| `([^`]+)` \| [^|]+ \| (\w+) \|", table, flags=re.MULTILINE))


def team_owned(path: str, package: str) -> bool:
    rows = {p.replace("<package>", package): owner for p, owner in owners().items()}
    return rows.get(path) == "team"


def copier_update(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *args],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert_merged_cleanly(repo)
    return output


def test_a_team_brings_its_own_model_and_still_takes_updates(tmp_path) -> None:
    template = tagged_template(tmp_path / "template")
    release_next(template)
    repo = tmp_path / "houses"
    scaffold_at(template, repo, NEW, service_name="houses")
    scaffold = git(repo, "rev-parse", "HEAD")

    # The team's whole change: its own files, nothing else.
    package = "houses"
    (repo / "src" / package / "contract.py").write_text(CONTRACT)
    (repo / "config" / "training.toml").write_text(TRAINING)
    (repo / "tests" / "test_model.py").write_text(TEAM_TEST.replace("PKG", package))
    commit_all(repo, "Our house-price model")
    changed = git(repo, "diff", "--name-only", scaffold, "HEAD").splitlines()
    assert changed and all(team_owned(path, package) for path in changed), changed

    # Another task and framework: re-answer, so the monitoring and image follow.
    copier_update(
        repo, "--vcs-ref", NEW, "-d", "model_task=regression", "-d", "model_framework=lightgbm"
    )
    assert git(repo, "diff", "--name-only", "--", *changed) == "", "the update touched team files"
    commit_all(repo, "Re-answer: regression with LightGBM")
    env = {"BENTOML_HOME": str(tmp_path / "bentoml")}
    # The OpenAPI document follows the contract: `make openapi` regenerates it (team-owned, never
    # touched by an update), and `make lint` checks it. The repo's own `make test` (a real server
    # on the team's model) runs once, below, after the next release has come in as well.
    make(repo, "setup", "openapi", "lint", env=env)
    assert "--extra lightgbm" in (repo / "Dockerfile").read_text()
    assert git(repo, "diff", "--name-only").splitlines() == ["docs/openapi.json"]
    assert team_owned("docs/openapi.json", package)
    assert '"district"' in (repo / "docs" / "openapi.json").read_text()
    commit_all(repo, "make openapi: the document of our contract")
    changed.append("docs/openapi.json")

    # The next release changes every file a model change used to touch: zero conflicts.
    before = {path: (repo / path).read_text() for path in changed}
    output = copier_update(repo, "--vcs-ref", NEXT)
    updated = set(git(repo, "diff", "--name-only").splitlines())
    assert {"src/houses/drift.py", "tests/test_http.py", "monitoring/rules/service.yml"} <= updated
    assert all((repo / path).read_text() == text for path, text in before.items()), output
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["model_task"] == "regression"
    commit_all(repo, f"Update to {NEXT}")
    out = make(repo, "test", "openapi-check", env=env)
    assert "test_the_service_answers_its_openapi_document" in textwrap.dedent(
        (repo / "tests" / "test_http.py").read_text()
    )
    assert re.search(r"\d+ passed", out) and " failed" not in out, out[-3000:]
    assert git(repo, "status", "--porcelain") == ""
