"""Build hook: copy the top-level static/ and assets/ into the package, so that a wheel ships them.

Their source stays at the top of the repository (static/ is the widget and dashboard, assets/ the
built-in products, assets/glasses/ drawn by scripts/generate_glasses.py); the build puts copies at
tryon/static and tryon/assets, where tryon.config.package_data finds them in an installed wheel.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGE_DATA_DIRS = ("static", "assets")


class BuildPyWithData(build_py):
    """build_py, plus the copies; an editable install copies nothing (it reads the checkout's folders)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in PACKAGE_DATA_DIRS:
            shutil.copytree(
                ROOT / name,
                Path(self.build_lib) / "tryon" / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", ".*"),
            )


setup(cmdclass={"build_py": BuildPyWithData})
