"""The golden render of the default answers matches what the template renders now."""

import difflib

from tools.golden import read_golden, render_default


def test_golden_render_is_current(tmp_path) -> None:
    rendered = render_default(tmp_path / "render")
    golden = read_golden()
    assert sorted(map(str, rendered)) == sorted(map(str, golden)), (
        "the set of generated files changed: run `make golden` and review the diff"
    )
    for rel, text in rendered.items():
        if text != golden[rel]:
            diff = "".join(
                difflib.unified_diff(
                    golden[rel].splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"golden/{rel}",
                    f"rendered/{rel}",
                )
            )
            raise AssertionError(f"{rel} differs from the golden render; `make golden`:\n{diff}")
