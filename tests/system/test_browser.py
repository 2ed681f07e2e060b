"""The fleet report page in a real browser: Debian's chromium, headless, opens the HTML that
`goldenpath fleet report` wrote for a mixed fleet; the figures a person reads in the DOM are the
JSON report's, and a screenshot is kept as a test artifact (build/test-artifacts/)."""

import json
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from devkit.fleet import mixed_fleet, run_report
from devkit.releases import tagged_template, template_url
from goldenpath.proc import run

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
# No network, no profile left behind, nothing started in the background.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WINDOW = (1280, 1400)


def chromium(profile: Path, *args: str) -> str:
    if not shutil.which("chromium"):
        pytest.fail(
            "Debian's chromium is not installed: `make test` installs it (make system-packages)"
        )
    done = run(["chromium", *FLAGS, f"--user-data-dir={profile}", *args], echo=False, timeout=180)
    return done.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[dict, Path]:
    url = template_url(tagged_template(tmp_path_factory.mktemp("releases") / "template"))
    root = tmp_path_factory.mktemp("fleet")
    mixed_fleet(url, root)
    out = tmp_path_factory.mktemp("report")
    done = run_report(root, out)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "fleet.json").read_text()), out / "fleet.html"


class Dom(HTMLParser):
    """From the browser's DOM: the KPI tiles' text, each chart's bars, each table row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, str] = {}
        self.bars: dict[str, dict[str, int]] = {}
        self.rows: dict[str, list[str]] = {}
        self._tile: str | None = None
        self._chart: str | None = None
        self._row: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs) -> None:
        found = dict(attrs)
        if found.get("id", "").startswith("kpi-"):
            self._tile = found["id"]
            self.tiles[self._tile] = ""
        if found.get("id", "").startswith("chart-"):
            self._chart = found["id"]
            self.bars[self._chart] = {}
        if found.get("class") == "bar" and self._chart:
            self.bars[self._chart][found["data-label"]] = int(found["data-value"])
        if tag == "tr" and "data-repo" in found:
            self._row = Path(found["data-repo"]).name
            self.rows[self._row] = []
        if tag == "td" and self._row:
            self._cell = []

    def handle_endtag(self, tag) -> None:
        if tag == "b":
            self._tile = None
        if tag == "figure":
            self._chart = None
        if tag == "td" and self._cell is not None and self._row:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data) -> None:
        if self._tile:
            self.tiles[self._tile] += data
        if self._cell is not None:
            self._cell.append(data)


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.0f}%"


def test_page_in_chromium_shows_the_reports_numbers(page, tmp_path) -> None:
    report, html = page
    dom = Dom()
    dom.feed(chromium(tmp_path / "profile", "--dump-dom", html.as_uri()))
    totals = report["totals"]
    assert dom.tiles["kpi-adoption"] == percent(totals["adoption"])
    assert dom.tiles["kpi-share-on-newest"] == percent(totals["share_on_newest"])
    assert dom.tiles["kpi-share-within-one"] == percent(totals["share_within_one"])
    assert float(dom.tiles["kpi-median-lag"]) == totals["median_lag"]
    assert int(dom.tiles["kpi-errors"]) == totals["errors"]
    assert dom.bars["chart-versions"] == totals["versions"]
    assert dom.bars["chart-lag"] == {f"{lag} behind": n for lag, n in totals["lag"].items()}
    assert len(dom.rows) == len(report["repos"]) == totals["repos"]
    for row in report["repos"]:
        cells = dom.rows[Path(row["repo"]).name]
        behind = row["releases_behind"]
        assert cells[3] == ("-" if behind is None else str(behind)), (row["repo"], cells)
        assert cells[0] == row["service"]


def png_size_and_colours(png: bytes) -> tuple[tuple[int, int], int]:
    """(width, height) from the IHDR chunk, and how many distinct byte values the pixels hold."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    data, offset = b"", 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        if kind == b"IDAT":
            data += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return (width, height), len(set(zlib.decompress(data)))


def test_screenshot_is_kept_as_an_artifact(page, tmp_path) -> None:
    _, html = page
    shot = tmp_path / "fleet-report.png"
    chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        html.as_uri(),
    )
    size, colours = png_size_and_colours(shot.read_bytes())
    assert size == WINDOW
    assert colours > 16, "the screenshot is blank"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(shot, ARTIFACTS / "fleet-report.png")
