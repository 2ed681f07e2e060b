"""The ML golden path: the template's own tooling (demo, fleet updates, verification)."""

from pathlib import Path

# The template repository this package ships with (copier.yml sits at its root).
TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
