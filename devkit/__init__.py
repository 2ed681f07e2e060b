"""Development-only helpers shared by the template repository's tests, tools and benchmarks.

Not shipped with the goldenpath package (pyproject.toml packages src/ only). The house rules
(tests/unit/test_architecture.py): src/goldenpath imports nothing from here, tests, tools or
benchmarks; tests, tools and benchmarks share helpers only through this package; commands run
through goldenpath.proc, long-lived servers through goldenpath.localservice.
"""

from pathlib import Path

# The template repository's checkout (this package sits at its root).
ROOT = Path(__file__).resolve().parents[1]
