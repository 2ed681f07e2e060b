"""Test session set-up shared by every test of the template repository."""

import os
import sys
from pathlib import Path

# Generated repos call `uv` from their Makefile: use the one installed beside this interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
