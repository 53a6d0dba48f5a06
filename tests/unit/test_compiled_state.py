"""compiled.py's guard on a package made in tmp: whether a build beside the sources is theirs,
and the finder that imports the sources instead (tests/integration/test_compiled_modules.py runs
the real build)."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorwatch.compiled import MANIFEST, PURE_PYTHON_ENV, _FromSource, compiled_state, sources_digest


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(PURE_PYTHON_ENV, raising=False)
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "mod.py").write_text("X = 1\n")
    (root / MANIFEST).write_text(sources_digest(root) + "\n")
    return root


def test_a_build_of_these_sources_is_compiled(package: Path) -> None:
    assert compiled_state(package) == "compiled"


def test_an_edited_added_or_renamed_source_makes_the_build_stale(package: Path) -> None:
    recorded = (package / MANIFEST).read_text()
    (package / "sub" / "mod.py").write_text("X = 2\n")
    assert compiled_state(package) == "stale"
    (package / "sub" / "mod.py").write_text("X = 1\n")
    assert compiled_state(package) == "compiled"
    (package / "sub" / "new.py").write_text("")
    assert compiled_state(package) == "stale"
    (package / "sub" / "new.py").rename(package / "new.py")
    assert compiled_state(package) == "stale"
    (package / "new.py").unlink()
    assert (package / MANIFEST).read_text() == recorded and compiled_state(package) == "compiled"


def test_no_manifest_or_an_unreadable_one_is_not_compiled(package: Path) -> None:
    (package / MANIFEST).write_bytes(b"\xff\xfe")
    assert compiled_state(package) == "not compiled"
    (package / MANIFEST).unlink()
    assert compiled_state(package) == "not compiled"


def test_pure_python_is_asked_for_by_the_environment(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    assert compiled_state(package) == "pure python"
    monkeypatch.setenv(PURE_PYTHON_ENV, "0")
    assert compiled_state(package) == "compiled"


def test_the_finder_gives_the_source_of_listed_modules_only(package: Path) -> None:
    finder = _FromSource(["pkg.sub.mod"], package)
    spec = finder.find_spec("pkg.sub.mod", None)
    assert spec is not None and spec.origin == str(package / "sub" / "mod.py")
    assert finder.find_spec("pkg.other", None) is None
