"""Export a registered model to one file, for the image build (`make image` calls this).

    python -m <package>.export [--tag NAME:VERSION] [--out build/model.bentomodel]

Prints the exact tag exported, so "latest" becomes a pinned version in the image's labels.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import bentoml

from .settings import MODEL_TAG


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=MODEL_TAG, help="model tag (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("build/model.bentomodel"))
    args = parser.parse_args(argv)
    try:
        stored = bentoml.models.get(args.tag)
    except bentoml.exceptions.NotFound:
        print(f"no model {args.tag} in the model store: run `make train` first", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.unlink(missing_ok=True)
    bentoml.models.export_model(stored.tag, str(args.out.resolve()))
    print(stored.tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
