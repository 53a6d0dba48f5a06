"""The compiled modules (src/censorwatch/compiled.py, built by setup.py with mypyc) against their
Python sources: the same Parquet rows from `censorwatch process` for measurements whose values
have been swapped for values of other JSON types (compiled code checks types where Python does
not), and a build that is not of the sources never runs."""

from __future__ import annotations

import ast
import copy
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import censorwatch
from censorwatch.compiled import COMPILED_MODULES, MANIFEST, PURE_PYTHON_ENV, source_path
from censorwatch.store.schema import PART_COLUMNS
from tests.unit.test_analysis_apps import APP_TESTS, m, req, tcp
from tests.unit.wc_builder import measurement

pytestmark = pytest.mark.integration

PACKAGE_DIR = Path(censorwatch.__file__).parent
CENSORWATCH = Path(sys.executable).with_name("censorwatch")
# JSON values of every type, and the edge cases of each.
SWAPS: tuple[Any, ...] = (None, 0, -1, 2**70, 2.5, "", "x", "1.2.3.4", "dns_nxdomain_error", [], [None], {}, {"a": 1},
                          True, False)


def needs_a_build() -> None:
    if censorwatch.COMPILED_STATE != "compiled":
        pytest.skip(f"censorwatch is not compiled here ({censorwatch.COMPILED_STATE})")


def test_censorwatch_runs_compiled_where_a_c_compiler_is() -> None:
    """The install compiles where it can: a build that fell back to Python unnoticed would lose
    the speed (and leave the comparison below comparing Python with itself)."""
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        pytest.skip(f"{PURE_PYTHON_ENV} is set")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: censorwatch installs as pure Python")
    assert censorwatch.COMPILED_STATE == "compiled"
    import censorwatch.analysis.web_connectivity as compiled

    assert not compiled.__file__.endswith(".py")


def base_measurements() -> list[dict[str, Any]]:
    page = "<html><head><title>Заблокировано</title></head><body>доступ ограничен 访问受限</body></html>"
    web = [
        measurement(),
        measurement(answers=["10.10.34.35"], tcp=[("10.10.34.35", True, None)]),
        measurement(dns_failure="dns_nxdomain_error"),
        measurement(tcp=[("93.184.216.34", False, "connection_refused")]),
        measurement(url="https://example.org/", tls=[("93.184.216.34", "connection_reset")]),
        measurement(response=(200, page, {"Server": "nginx"}), probe_cc="CN", claimed="http-diff"),
        measurement(http_failure="connection_reset"),
        measurement(no_control=True),
    ]
    apps = [
        m(name, {"tcp_connect": [tcp("149.154.167.51", 443, False)], "requests": [req("https://web.telegram.org/")],
                 "failure": "generic_timeout_error", "success": False, "bootstrap_time": 0})
        for name in APP_TESTS
    ]
    return web + apps


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:4]):
            yield from paths(item, (*prefix, index))


def swapped(base: dict[str, Any], rng: random.Random, swaps: int) -> dict[str, Any]:
    variant = copy.deepcopy(base)
    for _ in range(swaps):
        where = rng.choice(list(paths(variant)))
        holder = variant
        for key in where[:-1]:
            holder = holder[key]
        holder[where[-1]] = copy.deepcopy(rng.choice(SWAPS))
    return variant


def raw_file(root: Path, per_base: int) -> Path:
    rng = random.Random(20261129)
    lines = []
    for base in base_measurements():
        lines.append(json.dumps(base, ensure_ascii=False).encode())
        lines.extend(json.dumps(swapped(base, rng, 1 + n % 3)).encode() for n in range(per_base))
    lines.append(b'{"test_name": "web_connectivity", "test_keys": null}')
    lines.append(b"[1, 2]")
    folder = root / "raw" / "20261101" / "10" / "RU" / "webconnectivity"
    folder.mkdir(parents=True)
    path = folder / "mixed.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return path


def processed_rows(raw: Path, out: Path, pure: bool) -> list[tuple[Any, ...]]:
    env = {key: value for key, value in os.environ.items() if key != PURE_PYTHON_ENV}
    if pure:
        env[PURE_PYTHON_ENV] = "1"
    run = subprocess.run([str(CENSORWATCH), "process", str(raw), "--out", str(out), "--cluster", "none",
                          "--raw", "embed"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    query = f"SELECT {', '.join(PART_COLUMNS)} FROM read_parquet(?, hive_partitioning = false)"
    found = duckdb.connect().execute(query, [str(out / "**" / "*.parquet")]).fetchall()
    return sorted(found, key=repr)


def test_compiled_and_python_write_the_same_rows(tmp_path: Path) -> None:
    needs_a_build()
    raw = raw_file(tmp_path, per_base=150)
    compiled = processed_rows(raw.parents[4], tmp_path / "compiled", pure=False)
    python = processed_rows(raw.parents[4], tmp_path / "python", pure=True)
    assert len(compiled) > 3000
    verdicts = {row[PART_COLUMNS.index("verdict")] for row in compiled}
    assert {"ok", "anomaly", "failure"} <= verdicts  # the swaps reach past the first checks
    assert compiled == python


def copied_package(tmp_path: Path) -> Path:
    """The installed package with its compiled modules and their shared library, in tmp."""
    root = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, root / "censorwatch", ignore=shutil.ignore_patterns("__pycache__"))
    for library in PACKAGE_DIR.parent.glob("*__mypyc*"):
        shutil.copy2(library, root / library.name)
    return root


def imported_from(root: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != PURE_PYTHON_ENV}
    env["PYTHONPATH"] = str(root)
    code = ("import censorwatch, censorwatch.analysis.web_connectivity as wc, censorwatch.model.verdict as v; "
            "print(censorwatch.COMPILED_STATE, wc.__file__, v.__file__, sep='|')")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_a_build_of_other_sources_is_not_run(tmp_path: Path) -> None:
    needs_a_build()
    root = copied_package(tmp_path)
    intact = imported_from(root)
    state, *files = intact.stdout.strip().split('|')
    assert state == "compiled" and all(f.startswith(str(root)) and f.endswith(".so") for f in files), intact

    # One source edited, not even a compiled one: every compiled module runs from its source.
    with (root / "censorwatch" / "durable.py").open("a") as handle:
        handle.write("\n# edited\n")
    edited = imported_from(root)
    state, *files = edited.stdout.strip().split('|')
    assert state == "stale" and all(f.startswith(str(root)) and f.endswith(".py") for f in files), edited
    assert "built from other sources" in edited.stderr

    (root / "censorwatch" / MANIFEST).unlink()
    state, *files = imported_from(root).stdout.strip().split('|')
    assert state == "not compiled" and all(f.endswith(".py") for f in files)


def test_no_compiled_module_uses_cached_property() -> None:
    """mypyc compiles it as a plain property: a cached scanner would be built on every use
    (a 100,000-measurement run took 200 s instead of 13 when analysis/fingerprints.py was compiled)."""
    for module in COMPILED_MODULES:
        tree = ast.parse(source_path(module, PACKAGE_DIR).read_text("utf-8"))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert "cached_property" not in names, module
