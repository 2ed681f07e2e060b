"""The tutorial's shell blocks, each marked `<!-- run -->` or `<!-- not run: why -->`."""

import re

from devkit import ROOT

BLOCK = re.compile(r"<!-- (run|not run: [^>]+) -->\n```sh\n(.*?)```", re.DOTALL)


def tutorial_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "tutorial.md").read_text()
    blocks = BLOCK.findall(text)
    assert text.count("```sh") == len(blocks), (
        "every sh block needs <!-- run --> or <!-- not run: why -->"
    )
    return blocks
