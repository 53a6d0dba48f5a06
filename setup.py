"""Builds censorwatch (the metadata is in pyproject.toml) and compiles the modules listed in
src/censorwatch/compiled.py with mypyc, where this machine can: without a C compiler, or with
CENSORWATCH_PURE_PYTHON=1, censorwatch installs as pure Python and runs the same, slower."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "src" / "censorwatch"


def _compiled_module() -> Any:
    # Loaded by path: only the standard library, and nothing of censorwatch is installed yet.
    spec = importlib.util.spec_from_file_location("_censorwatch_compiled", PACKAGE / "compiled.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMPILED = _compiled_module()


def _say(message: str) -> None:
    print(f"censorwatch setup: {message}", file=sys.stderr)


# The commands that build extensions. setuptools runs this file for metadata too (egg_info,
# dist_info), where compiling would only cost time: mypyc takes about 25 s.
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def _extensions() -> list[Any]:
    if not BUILDS & set(sys.argv[1:]):
        return []
    if os.environ.get(COMPILED.PURE_PYTHON_ENV, "") not in ("", "0"):
        _say(f"{COMPILED.PURE_PYTHON_ENV} is set: not compiling")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not installed: not compiling")
        return []
    paths = [str(COMPILED.source_path(module, PACKAGE).relative_to(HERE)) for module in COMPILED.COMPILED_MODULES]
    # The libraries censorwatch imports may or may not be installed where this runs: mypy is told
    # to see none of them (the same C whatever the machine has), so they are Any, which strict mode
    # would report where a function returns one and where two are tried under one name
    # (gzip_stream.py's inflaters). Only the compiled modules' own errors would matter here;
    # `make lint` type-checks everything with the libraries installed.
    options = ["--config-file", str(HERE / "pyproject.toml"), "--no-site-packages", "--no-warn-return-any",
               "--follow-imports=silent", "--disable-error-code=no-redef"]
    try:
        extensions: list[Any] = mypycify(paths + options, opt_level="3")
    except (Exception, SystemExit) as error:  # mypyc exits on a type error
        _say(f"mypyc could not compile ({error!r}): installing pure Python")
        return []
    return extensions


class BuildCompiled(build_ext):
    """All compiled or none (they call each other in C), then the manifest that vouches for them."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no C compiler, no Python headers, a compiler error
            _say(f"could not compile ({error}): installing pure Python")
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            self._remove_manifests()
            return
        digest = COMPILED.sources_digest(PACKAGE) + "\n"
        for directory in self._package_dirs():
            directory.mkdir(parents=True, exist_ok=True)
            (directory / COMPILED.MANIFEST).write_text(digest, "ascii")

    def _package_dirs(self) -> list[Path]:
        # A wheel takes build_lib; an editable install also copies the extensions into src/.
        directories = [Path(self.build_lib) / "censorwatch"]
        if self.inplace or getattr(self, "editable_mode", False):
            directories.append(PACKAGE)
        return directories

    def _remove_manifests(self) -> None:
        for directory in self._package_dirs():
            (directory / COMPILED.MANIFEST).unlink(missing_ok=True)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildCompiled})
