"""IsolatedExtractor with real worker processes: the same results as in-process extraction, and
a worker that hangs, spins, exceeds its memory, crashes or exits is killed, reported and
replaced while the others go on. Faults are injected by `faulty_extract`, which the workers
import as their target (module:function) instead of extract()."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from censorwatch.archive.extract import (
    Crashed,
    Extracted,
    ExtractionFailed,
    IsolatedExtractor,
    OutOfMemory,
    TimedOut,
    extract,
)
from tests.unit.test_archive_extract_samples import RUSSIAN, email_with_attachment, rtf_cp1251, text_pdf, word_docx

pytestmark = pytest.mark.integration

FAULTS = "tests.integration.test_archive_extract_isolated:faulty_extract"
MiB = 1 << 20


def faulty_extract(data: bytes, name: str, *, ocr: bool = True) -> Extracted:
    """extract(), unless the file's name asks for a fault (runs in the worker process)."""
    if name == "hang":
        time.sleep(3600)
    elif name == "spin":
        while True:
            pass
    elif name == "allocate":
        hoard = []
        while True:
            hoard.append(bytearray(16 * MiB))
    elif name == "segfault":
        ctypes.string_at(0)
    elif name == "abort":
        os.abort()
    elif name == "exit":
        os._exit(7)
    elif name == "noisy":
        print("text on stdout that must not reach the protocol pipe")
        os.write(1, b"\x00" * 64)
    elif name.startswith("orphan:"):
        # A child of the worker (as tesseract is) that would outlive it unless its group is killed.
        child = subprocess.Popen(["sleep", "600"])
        Path(name.partition(":")[2]).write_text(str(child.pid))
        time.sleep(3600)
    return extract(data, name, ocr=ocr)


@pytest.fixture
def isolated() -> Iterator[IsolatedExtractor]:
    with IsolatedExtractor(workers=2, timeout=3, memory=512 * MiB, target=FAULTS) as extractor:
        yield extractor


def worker_pids(extractor: IsolatedExtractor) -> set[int]:
    return {slot.process.pid for slot in extractor._slots if slot.process is not None}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def test_same_results_as_in_process() -> None:
    documents = [
        (text_pdf(["Blocking order", "Page two"], {"Title": "Order", "CreationDate": "D:20180321145500+03'00'"}),
         "order.pdf"),
        (rtf_cp1251([RUSSIAN]), "notice.rtf"),
        (word_docx(), "order.docx"),
        (email_with_attachment(), "readme.txt"),
    ]
    with IsolatedExtractor() as extractor:  # the defaults: 1 GiB, 60 s, one worker
        for data, name in documents:
            assert extractor.extract(data, name) == extract(data, name)


def test_real_documents_through_workers(shared_data: Path) -> None:
    paths = sorted(path for path in (shared_data / "documents").rglob("*") if path.is_file())
    with IsolatedExtractor(workers=2) as extractor:
        results = list(extractor.map((path.read_bytes(), path.name) for path in paths))
    assert len(results) == len(paths)
    for path, ((_, name), result) in zip(paths, results, strict=True):
        assert name == path.name
        assert isinstance(result, Extracted), (path, result)
        assert result == extract(path.read_bytes(), path.name)


def test_failures_of_the_file_come_back_as_extraction_failed(isolated: IsolatedExtractor) -> None:
    with pytest.raises(ExtractionFailed, match=r"^unsupported format: binary data \(named .pdf"):
        isolated.extract(bytes(range(256)) * 10, "junk.pdf")
    assert isolated.extract(text_pdf(["still here"]), "a.pdf").parts[0].text == "still here"


@pytest.mark.parametrize("fault", ["hang", "spin"])
def test_a_worker_that_never_answers_is_killed_and_replaced(isolated: IsolatedExtractor, fault: str) -> None:
    before = worker_pids(isolated)
    started = time.monotonic()
    with pytest.raises(TimedOut, match=r"^took longer than 3 s$"):
        isolated.extract(b"anything", fault)
    assert time.monotonic() - started < 6
    killed = before - worker_pids(isolated)
    assert len(killed) == 1 and not alive(killed.pop())
    assert isolated.extract(text_pdf(["after the hang"]), "a.pdf").parts[0].text == "after the hang"


def test_a_worker_that_exceeds_its_memory(isolated: IsolatedExtractor) -> None:
    with pytest.raises(OutOfMemory, match=r"^ran out of memory$"):
        isolated.extract(b"anything", "allocate")
    assert isolated.extract(text_pdf(["after the allocation"]), "a.pdf").parts[0].text == "after the allocation"


def test_a_file_larger_than_a_worker_could_hold(isolated: IsolatedExtractor) -> None:
    with pytest.raises(OutOfMemory, match=r"^ran out of memory"):
        isolated.extract(bytes(300 * MiB), "big.txt")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("segfault", f"the extractor crashed (signal {signal.SIGSEGV})"),
        ("abort", f"the extractor crashed (signal {signal.SIGABRT})"),
        ("exit", "the extractor exited with status 7"),
    ],
)
def test_a_worker_that_dies(isolated: IsolatedExtractor, fault: str, reason: str) -> None:
    with pytest.raises(Crashed) as caught:
        isolated.extract(b"anything", fault)
    assert caught.value.reason == reason
    assert isolated.extract(rtf_cp1251([RUSSIAN]), "n.rtf").parts[0].text.startswith(RUSSIAN)


def test_what_a_library_prints_does_not_corrupt_the_protocol(isolated: IsolatedExtractor) -> None:
    assert isolated.extract(b"plain text", "noisy").parts[0].text == "plain text"


def test_children_of_a_killed_worker_die_with_it(isolated: IsolatedExtractor, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    with pytest.raises(TimedOut):
        isolated.extract(b"anything", f"orphan:{pid_file}")
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_map_keeps_input_order_and_survives_a_hang() -> None:
    items = [(text_pdf([f"document {number}"]), f"{number}.pdf") for number in range(12)]
    items.insert(5, (b"", "hang"))
    items.insert(9, (b"", "segfault"))
    started = time.monotonic()
    with IsolatedExtractor(workers=2, timeout=3, target=FAULTS) as extractor:
        results = list(extractor.map(items))
    assert time.monotonic() - started < 15
    assert [item[1] for item, _ in results] == [name for _, name in items]
    texts = [result.parts[0].text if isinstance(result, Extracted) else type(result).__name__ for _, result in results]
    expected = [f"document {number}" for number in range(12)]
    expected.insert(5, "TimedOut")
    expected.insert(9, "Crashed")
    assert texts == expected


def test_closing_stops_every_worker() -> None:
    extractor = IsolatedExtractor(workers=3)
    extractor.start()
    pids = worker_pids(extractor)
    assert len(pids) == 3
    extractor.close()
    assert not any(alive(pid) for pid in pids)


def test_a_worker_that_cannot_start_is_reported() -> None:
    with pytest.raises(Crashed, match="did not start"), IsolatedExtractor(target="no.such.module:extract"):
        pass


def test_worker_runs_as_a_module() -> None:
    """The command IsolatedExtractor spawns, on its own: it says ready, then ends at end of input."""
    done = subprocess.run([sys.executable, "-m", "censorwatch.archive.extract.worker", "--memory", str(1 << 30)],
                          input=b"", capture_output=True, timeout=60, check=False)
    assert done.returncode == 0
    assert b'"type":"ready"' in done.stdout
