"""`goldenpath fleet report` over a mixed fleet of real repositories scaffolded from the
template's URL at its real releases (devkit/fleet.py): every row says what its repository
is, bad input included; the fleet's figures are right; the JSON follows its schema in docs/; each
release is rendered once, not once per repository; the page needs no network."""

import json
import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from devkit.fleet import mixed_fleet, run_report, scaffold
from devkit.project import commit_all
from devkit.releases import NEW, OLD, tagged_template, template_url
from goldenpath.owned import PATH_ANSWERS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs/reference/fleet-overview.schema.json").read_text())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """(expected per repository name, JSON report, HTML page, the command's stderr)."""
    url = template_url(tagged_template(tmp_path_factory.mktemp("releases") / "template"))
    root = tmp_path_factory.mktemp("fleet")
    expected = mixed_fleet(url, root)
    out = tmp_path_factory.mktemp("report")
    done = run_report(root, out)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "fleet.json").read_text())
    return expected, report, (out / "fleet.html").read_text(), done.stderr


def rows(report) -> dict[str, dict]:
    return {Path(row["repo"]).name: row for row in report["repos"]}


def test_every_repo_has_a_row_saying_what_it_is(fleet) -> None:
    expected, report, _, _ = fleet
    found = rows(report)
    assert set(found) == set(expected)
    for name, want in expected.items():
        row = found[name]
        assert row["on_template"] is want.on_template, (name, row)
        assert row["owner"] == want.owner, (name, row)
        assert row["releases_behind"] == want.behind, (name, row)
        assert row["renovate"] is want.renovate, (name, row)
        assert row["pending"] == list(want.pending), (name, row)
        if want.error:
            assert want.error in (row["error"] or ""), (name, row)
        else:
            assert row["error"] is None, (name, row)
        if want.rendered:
            assert row["changed"] == list(want.changed), (name, row)
            assert row["missing"] == list(want.missing), (name, row)
        policies = row["policies"]
        failed = None if policies is None else tuple(sorted(f["id"] for f in policies["failed"]))
        assert failed == want.policies_failed, (name, row)
    current = found["svc-current"]
    assert current["release"] == current["version"] == current["latest"] == NEW
    assert current["service"] == "svc-current" and current["branch"] == "main"
    assert re.match(r"\d{4}-\d\d-\d\dT", current["last_template_update"])
    assert found["svc-between"]["release"] is None
    assert found["svc-between"]["version"].startswith(f"{OLD[1:]}.post")
    assert found["plain-repo"]["releases_behind"] is None and found["plain-repo"]["error"] is None


def test_fleet_totals_are_the_fleets_figures(fleet) -> None:
    expected, report, _, stderr = fleet
    totals = report["totals"]
    on_template = [e for e in expected.values() if e.on_template]
    lags = [e.behind for e in on_template if e.behind is not None]
    assert totals["repos"] == len(expected) and totals["on_template"] == len(on_template)
    assert totals["adoption"] == round(len(on_template) / len(expected), 4)
    assert totals["measured"] == len(lags)
    assert totals["on_newest"] == lags.count(0)
    assert totals["share_on_newest"] == round(lags.count(0) / len(lags), 4)
    assert totals["share_within_one"] == round(sum(lag <= 1 for lag in lags) / len(lags), 4)
    assert totals["median_lag"] == statistics.median(lags)
    assert sum(totals["lag"].values()) == len(lags)
    assert sum(totals["versions"].values()) == len(on_template)
    assert totals["errors"] == sum(1 for e in expected.values() if e.error)
    assert totals["renovate"] == sum(1 for e in on_template if e.renovate)
    assert totals["pending_updates"] == 1
    assert totals["changed_template_files"] == totals["missing_template_files"] == 1
    teams = totals["teams"]
    assert teams["payments"]["repos"] == 2 and teams["payments"]["on_newest"] == 1
    assert teams["risk"]["unknown"] == 1, teams["risk"]  # the unknown commit
    # Repository policies: checked where the release ships them; svc-edited gave CODEOWNERS away.
    checked = [e for e in expected.values() if e.policies_failed is not None]
    assert checked, "the release under test ships repository policies"
    assert totals["policies_checked"] == len(checked)
    passing = sum(1 for e in checked if not e.policies_failed)
    assert totals["policy_pass_rate"] == round(passing / len(checked), 4) < 1
    assert totals["policy_failures"] == {"GP_REPO_1": 1}
    assert teams["search"]["policy_failures"] == 1 and teams["payments"]["policy_failures"] == 0
    (failure,) = rows(report)["svc-edited"]["policies"]["failed"]
    assert failure["file"] == "CODEOWNERS" and "@acme/someone-else" in failure["problem"], failure
    assert f"{totals['repos']} repositories" in stderr


def test_report_follows_its_schema(fleet) -> None:
    _, report, _, _ = fleet
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())
    broken = json.loads(json.dumps(report))
    broken["totals"]["adoption"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_each_release_is_rendered_once(fleet) -> None:
    expected, report, _, _ = fleet
    distinct = {e.rendered for e in expected.values() if e.rendered}
    renders_needed = sum(1 for e in expected.values() if e.rendered)
    assert report["renders"] == len(distinct) < renders_needed, report["renders"]


class Figures(HTMLParser):
    """Elements with an id and a data-value, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        found = dict(attrs)
        self.tags.add(tag)
        if "id" in found and "data-value" in found:
            self.values[found["id"]] = found["data-value"]
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "action") and v]


def test_page_is_self_contained_and_shows_the_report(fleet) -> None:
    expected, report, page, _ = fleet
    figures = Figures()
    figures.feed(page)
    assert not figures.urls and not {"script", "link", "iframe", "img"} & figures.tags
    assert "url(" not in page and "@import" not in page
    totals = report["totals"]
    assert float(figures.values["kpi-adoption"]) == totals["adoption"]
    assert float(figures.values["kpi-median-lag"]) == totals["median_lag"]
    assert float(figures.values["kpi-policy-pass-rate"]) == totals["policy_pass_rate"]
    for name in expected:
        assert name in page


def test_only_the_answers_the_report_renders_per_decide_which_files_exist() -> None:
    """goldenpath.owned renders a release once per combination of PATH_ANSWERS: an answer that
    a template path's condition names, and that list lacks, would make it list wrong files."""
    template = ROOT / "templates" / "model-service"
    paths = " ".join(str(path.relative_to(template)) for path in template.rglob("*"))
    named = set(re.findall(r"{%-?\s*if\s+(\w+)", paths))
    assert named and named <= set(PATH_ANSWERS), named - set(PATH_ANSWERS)
    copier_yml = (ROOT / "copier.yml").read_text()
    assert not re.search(r"^_exclude:", copier_yml, re.MULTILINE), (
        "an _exclude by answer decides which files exist too"
    )


def test_a_file_a_policy_cannot_read_is_the_rows_error(tmp_path) -> None:
    """A catalog that is no YAML: the row names the policy that could not run; the report ends."""
    url = template_url(tagged_template(tmp_path / "template"))
    repo = scaffold(url, tmp_path / "fleet" / "svc-bad-catalog", NEW, owner_team="search")
    (repo / "catalog-info.yaml").write_text("kind: [not yaml\n")
    commit_all(repo, "A catalog the team broke")
    done = run_report(tmp_path / "fleet", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads((tmp_path / "out" / "fleet.json").read_text())["repos"]
    assert "policy GP_REPO_2 could not run" in row["error"], row
    assert row["policies"] is None and row["releases_behind"] == 0
