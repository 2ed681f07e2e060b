"""The ML golden path: the template's own tooling (demo, fleet updates, verification)."""

import os
import shutil
import tarfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _template_root() -> Path:
    """The template (copier.yml at its root): the checkout this package sits in, or, when the
    package is installed (pip, pipx), the copy packed into it, unpacked once into a cache."""
    checkout = _HERE.parents[1]
    if (checkout / "copier.yml").is_file():
        return checkout
    archive = _HERE / "template.tar"
    if not archive.is_file():
        raise RuntimeError(f"goldenpath has no template: neither {checkout} nor {archive}")
    stamp = f"{archive.stat().st_size}-{int(archive.stat().st_mtime)}"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = cache / "goldenpath" / f"template-{stamp}"
    if not (root / "copier.yml").is_file():
        partial = root.with_name(f"{root.name}.{os.getpid()}.partial")
        with tarfile.open(archive) as packed:
            packed.extractall(partial, filter="data")
        try:
            partial.rename(root)
        except OSError:  # another process unpacked it first
            shutil.rmtree(partial, ignore_errors=True)
    return root


# The template repository this package ships with (copier.yml sits at its root).
TEMPLATE_ROOT = _template_root()
