"""The fleet report as one self-contained HTML page: inline CSS and SVG, no script, nothing
fetched. Every figure the page shows carries `data-value` with the JSON report's number, so a
browser test (and any scraper) can read it back."""

from __future__ import annotations

from html import escape

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f24;
background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#57606a;margin:0 0 16px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:150px}
.tile b{display:block;font-size:24px}.tile span{color:#57606a}
.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
tr.error td{background:#fff5f5}tr.behind td.behind{color:#9a6700;font-weight:600}
.none{color:#57606a}
"""
BAR = "#0969da"
FAIL = "#cf222e"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def tile(key: str, label: str, value, shown: str) -> str:
    data = "" if value is None else escape(str(value))
    return (
        f'<div class="tile"><b id="kpi-{key}" data-value="{data}">{escape(shown)}</b>'
        f"<span>{escape(label)}</span></div>"
    )


def bar_chart(key: str, title: str, counts: dict[str, int], color: str = BAR) -> str:
    """A horizontal bar chart in inline SVG: one labelled bar per key, its count at its end."""
    if not counts:
        return (
            f'<figure id="chart-{key}"><figcaption>{escape(title)}</figcaption>'
            '<p class="none">no data yet</p></figure>'
        )
    row, bar_w = 24, 260
    label_w = max(90, 8 + 7 * max(len(name) for name in counts))
    top = max(counts.values()) or 1
    height = row * len(counts) + 8
    parts = [
        f'<figure id="chart-{key}"><figcaption>{escape(title)}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 50}"'
        f' height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    for index, (name, count) in enumerate(counts.items()):
        y = 4 + index * row
        width = max(1, round(bar_w * count / top)) if count else 0
        parts.append(
            f'<g class="bar" data-label="{escape(name)}" data-value="{count}">'
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(name)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="16" fill="{color}"/>'
            f'<text x="{label_w + width + 4}" y="{y + 15}" font-size="12">{count}</text></g>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def cell(value, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    if value is None or value == []:
        return f"<td{klass}>-</td>"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"<td{klass}>{escape(str(value))}</td>"


def repo_table(rows: list[dict]) -> str:
    head = (
        "service",
        "owner",
        "release",
        "behind",
        "last template update",
        "Renovate",
        "update waiting",
        "template files changed",
        "template files missing",
        "policies failed",
        "problem",
    )
    lines = ["<table id='repos'><thead><tr>"]
    lines += [f"<th>{escape(h)}</th>" for h in head]
    lines.append("</tr></thead><tbody>")
    for row in rows:
        behind = row["releases_behind"]
        css = "error" if row["error"] else "behind" if behind else ""
        policies = row["policies"]
        failed = None if policies is None else [f["id"] for f in policies["failed"]] or "none"
        version = row["version"] if row["on_template"] else "not on the template"
        lines.append(
            f'<tr class="{css}" data-repo="{escape(row["repo"])}">'
            + cell(row["service"])
            + cell(row["owner"])
            + cell(version)
            + f'<td class="behind" data-value="{"" if behind is None else behind}">'
            + ("-" if behind is None else str(behind))
            + "</td>"
            + cell((row["last_template_update"] or "")[:10] or None)
            + cell(("yes" if row["renovate"] else "no") if row["on_template"] else None)
            + cell(row["pending"])
            + cell(row["changed"])
            + cell(row["missing"])
            + cell(failed)
            + cell(row["error"])
            + "</tr>"
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def render_page(report: dict) -> str:
    totals = report["totals"]
    median = totals["median_lag"]
    tiles = [
        tile(
            "adoption",
            f"on the template ({totals['on_template']} of {totals['repos']} repos)",
            totals["adoption"],
            percent(totals["adoption"]),
        ),
        tile(
            "share-on-newest",
            f"on the newest release ({totals['on_newest']} of {totals['measured']})",
            totals["share_on_newest"],
            percent(totals["share_on_newest"]),
        ),
        tile(
            "share-within-one",
            f"within one release ({totals['within_one']} of {totals['measured']})",
            totals["share_within_one"],
            percent(totals["share_within_one"]),
        ),
        tile(
            "median-lag",
            "median releases behind",
            median,
            "n/a" if median is None else f"{median:g}",
        ),
        tile(
            "policy-pass-rate",
            f"pass every repository policy ({totals['policies_checked']} repos checked)",
            totals["policy_pass_rate"],
            percent(totals["policy_pass_rate"]),
        ),
        tile("renovate", "repos Renovate can update", totals["renovate"], str(totals["renovate"])),
        tile(
            "errors",
            "repos with a problem (see the table)",
            totals["errors"],
            str(totals["errors"]),
        ),
    ]
    failures_by_team = {
        team: figures.get("policy_failures", 0)
        for team, figures in totals["teams"].items()
        if figures.get("policy_failures")
    }
    lag = {f"{behind} behind": count for behind, count in totals["lag"].items()}
    charts = [
        bar_chart("versions", "Template release in use", totals["versions"]),
        bar_chart("lag", "Releases behind the newest", lag),
        bar_chart(
            "policy-failures",
            "Policy failures by team"
            + ("" if totals["policies_checked"] else " (no repository's release ships policies)"),
            failures_by_team,
            FAIL,
        ),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>Golden path fleet report</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>Golden path fleet report</h1>"
        f"<p class='meta'>Generated {escape(report['generated'])} from {totals['repos']}"
        f" repositories; newest release {escape(str(report['newest_release'] or 'unknown'))}.</p>"
        f"<div class='tiles'>{''.join(tiles)}</div>"
        f"<h2>Charts</h2><div class='charts'>{''.join(charts)}</div>"
        f"<h2>Repositories</h2>{repo_table(report['repos'])}"
        "</body></html>\n"
    )
