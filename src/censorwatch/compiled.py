"""The modules that setup.py compiles to C with mypyc, and the guard that runs them from their
Python source whenever the compiled build is not the build of these sources.

Compiled, the work done for each measurement (reading records, the indexed fields, the verdict
rules, the Parquet rows) takes about a tenth less CPU (docs/ingest.md). The compiled modules call
each other directly in C, so they are used all together or not at all. setup.py writes MANIFEST
beside them: a digest of every Python source of the package when they were compiled. When the
sources differ from it (a module edited or a branch checked out under an editable install), every
compiled module is imported from its source instead, until the next install compiles them again.
The digest covers all sources, not only the compiled ones: mypyc may fold constants and types from
modules it did not compile into the code it makes.

PURE_PYTHON_ENV=1 runs the sources on purpose (tracebacks and profilers then see Python frames;
tests/integration/test_compiled_modules.py compares both) and, at install time, skips compiling.

Only the standard library here: setup.py loads this module before anything is installed."""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# The per-measurement path of ingest and process (bench/bench_ingest.py profiles), minus:
# - analysis/fingerprints.py: a compiled class would build its cached scanners again on every use
#   (mypyc makes a cached_property a plain property; tests/integration/test_compiled_modules.py
#   keeps cached_property out of this list);
# - analysis/body_scanner.py: its time is Hyperscan's, and a test replaces one of its functions
#   (compiled code calls its own module's functions directly, past any replacement);
# - analysis/whatsapp.py: mypyc 2.4.1 fails on it (an internal error on a dict comprehension);
# - sources/ingest.py and distributed/process.py: tests replace functions they call;
# - sources/line_reader.py: the bench's bound reads with it, so compiled it would speed the bound
#   as much as every path.
COMPILED_MODULES = (
    "censorwatch.model.measurement",
    "censorwatch.model.verdict",
    "censorwatch.model.failures",
    "censorwatch.model.failure_map",
    "censorwatch.analysis.dispatch",
    "censorwatch.analysis.record",
    "censorwatch.analysis.web_connectivity",
    "censorwatch.analysis.web_connectivity_keys",
    "censorwatch.analysis.observations",
    "censorwatch.analysis.body",
    "censorwatch.analysis.header_matcher",
    "censorwatch.analysis.bogons",
    "censorwatch.analysis.shapes",
    "censorwatch.analysis.middlebox",
    "censorwatch.analysis.apps_common",
    "censorwatch.analysis.telegram",
    "censorwatch.analysis.signal",
    "censorwatch.analysis.facebook_messenger",
    "censorwatch.analysis.tor",
    "censorwatch.analysis.vanilla_tor",
    "censorwatch.analysis.circumvention",
    "censorwatch.analysis.dnscheck",
    "censorwatch.sources.ooni_files",
    "censorwatch.distributed.parts",
)
MANIFEST = "compiled-sources.sha256"
PURE_PYTHON_ENV = "CENSORWATCH_PURE_PYTHON"
PACKAGE_DIR = Path(__file__).parent


def sources_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 over every .py file under package_dir, names included (about 700 KB: 4 ms)."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_path(module: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """The .py file of a module of this package."""
    return package_dir.joinpath(*module.split(".")[1:]).with_suffix(".py")


def compiled_state(package_dir: Path = PACKAGE_DIR) -> str:
    """"compiled", "not compiled" (no build beside the sources), "pure python" (asked for by
    PURE_PYTHON_ENV) or "stale" (the build is of other sources)."""
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return "pure python"
    try:
        recorded = (package_dir / MANIFEST).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "not compiled"
    return "compiled" if recorded == sources_digest(package_dir) else "stale"


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the listed modules as their .py files, ahead of the compiled extension the path
    finder would pick (extensions come first among a directory's suffixes)."""

    def __init__(self, modules: Sequence[str], package_dir: Path) -> None:
        self._sources = {module: source_path(module, package_dir) for module in modules}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self._sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def guard_compiled_modules(package_dir: Path = PACKAGE_DIR) -> str:
    """Called once, by the package's __init__ before any compiled module can be imported.
    Returns compiled_state()."""
    state = compiled_state(package_dir)
    if state != "compiled":  # also without a manifest: an extension left there is of unknown sources
        sys.meta_path.insert(0, _FromSource(COMPILED_MODULES, package_dir))
    if state == "stale":
        print(  # no logging is set up this early, and whoever edited the sources must see it
            "censorwatch: the compiled modules were built from other sources; running them from "
            "source until censorwatch is installed again (make install)",
            file=sys.stderr,
        )
    return state
