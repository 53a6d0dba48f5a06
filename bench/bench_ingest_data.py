"""Input for bench_ingest: replicate the real OONI measurements of ../shared/data with fresh ids
into a tree in OONI's raw layout (raw/YYYYMMDD/HH/CC/testname/*.jsonl.gz).

Every readable measurement is a template and appears equally often (the mix of the real files,
not of their sizes). Each copy gets a report_id per (file, template, block of 3,600 copies) and a
measurement_start_time inside the hour of the file's bucket, so the date in the path and in the
measurement agree as in OONI's own buckets, and no two copies are the same measurement. Like
OONI's own raw files, the lines carry no measurement_uid: OONI's uploader writes each measurement
as the probe submitted it and keeps the uid it assigned in its database (ooni/backend,
api/ooni_api_uploader.py, fill_jsonl), so reading them costs deriving a uid from the content
(model/measurement.py measurement_uid). With `given_uids` each copy also gets a fresh
measurement_uid in OONI's shape (<YYYYmmddHHMMSS.ffffff>_<CC>_<testname>_<16 hex>), and none is
derived. A file holds one (probe_cc, test_name) like OONI's,
and a group gets files in proportion to its bytes (OONI's cans are bounded by size), at least one:
so one group of large measurements is not one long task that a cluster cannot split.
Lines are the template serialised once with the three fields spliced in front: generation costs
a fraction of what reading it back costs."""

from __future__ import annotations

import gzip
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson

from censorwatch.sources.ooni_files import expand_paths, read_records

DEFAULT_SOURCE = Path("/work/shared/data/ooni/measurements")
FIRST_BUCKET = datetime(2026, 1, 1, tzinfo=UTC)
VARYING = ("measurement_uid", "report_id", "measurement_start_time")


@dataclass(frozen=True)
class Template:
    name: str  # where it came from, for the report
    cc: str
    test_dir: str  # test name as OONI's raw layout spells it (no underscores)
    asn: str
    body: bytes  # the measurement without VARYING, serialised; starts with b"{"


@dataclass(frozen=True)
class FileJob:
    path: Path
    index: int
    bucket: datetime
    templates: tuple[tuple[Template, int], ...]  # (template, copies in this file)
    nonce: str
    given_uids: bool = False


@dataclass(frozen=True)
class Tree:
    root: Path
    files: list[Path]
    measurements: int
    json_bytes: int  # uncompressed JSON lines, newline included
    gz_bytes: int
    templates: int
    skipped: list[str]
    per_file: list[tuple[int, int]]  # (measurements, uncompressed bytes) of each file

    def largest_run(self, rows: int, across_files: bool) -> int:
        """Bytes of the largest `rows` consecutive measurements, files read in path order (as
        expand_paths does), within one file or across files (files are round-robin over their
        templates, so each line is taken at its file's mean size): what a row-counted batch holds."""
        ordered = sorted(zip(self.files, self.per_file, strict=True))
        if not across_files:
            return max((size * min(rows, count) // count for _, (count, size) in ordered if count), default=0)
        sizes = [size / count for _, (count, size) in ordered for _ in range(count)]
        window = best = sum(sizes[:rows])
        for index in range(rows, len(sizes)):
            window += sizes[index] - sizes[index - rows]
            best = max(best, window)
        return int(best)


def load_templates(source: Path) -> tuple[list[Template], list[str]]:
    """Every record of every file under source that parses into a measurement with a test_name."""
    templates: list[Template] = []
    skipped: list[str] = []
    for path in expand_paths([source]):
        for record in read_records(path):
            measurement = record.measurement
            if measurement is None or not isinstance(measurement.get("test_name"), str):
                skipped.append(f"{record.location}: {record.error or 'no test_name'}")
                continue
            templates.append(_template(record.location, measurement))
    return templates, skipped


def _template(name: str, measurement: dict[str, Any]) -> Template:
    rest = {key: value for key, value in measurement.items() if key not in VARYING}
    cc = str(measurement.get("probe_cc") or "ZZ").upper()[:2]
    asn = str(measurement.get("probe_asn") or "AS0").removeprefix("AS")
    test_dir = str(measurement["test_name"]).replace("_", "")
    return Template(name, cc, test_dir, asn, orjson.dumps(rest))


def plan(
    templates: list[Template], root: Path, measurements: int, files: int, given_uids: bool = False
) -> list[FileJob]:
    """Spread `measurements` copies (template k % T) over about `files` files; each (cc, test)
    group gets files in proportion to its bytes, at least one."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, template in enumerate(templates):
        groups[(template.cc, template.test_dir)].append(index)
    count = len(templates)
    copies = [measurements // count + (1 if index < measurements % count else 0) for index in range(count)]
    total_bytes = sum(len(t.body) for t in templates)
    nonce = secrets.token_hex(3)
    jobs: list[FileJob] = []
    for (cc, test_dir), members in sorted(groups.items()):
        group_bytes = sum(len(templates[m].body) for m in members)
        shards = max(1, round(files * group_bytes / total_bytes))
        for shard in range(shards):
            share = tuple(
                (templates[m], len(range(shard, copies[m], shards))) for m in members
            )
            if not any(n for _, n in share):
                continue
            bucket = FIRST_BUCKET + timedelta(hours=7 * len(jobs))
            directory = root / "raw" / f"{bucket:%Y%m%d}" / f"{bucket:%H}" / cc / test_dir
            path = directory / f"{bucket:%Y%m%d%H}_{cc}_{test_dir}.n0.{shard}.jsonl.gz"
            jobs.append(FileJob(path, len(jobs), bucket, share, nonce, given_uids))
    return jobs


def write_file(job: FileJob) -> tuple[int, int, int]:
    """Returns (measurements, uncompressed bytes, compressed bytes)."""
    job.path.parent.mkdir(parents=True, exist_ok=True)
    written = size = 0
    report_ids = [
        f"{job.bucket:%Y%m%dT%H%M%SZ}_{t.test_dir}_{t.cc}_{t.asn}_n1_{secrets.token_urlsafe(12)}"
        for t, _ in job.templates
    ]
    remaining = [n for _, n in job.templates]
    with gzip.open(job.path, "wb", compresslevel=6) as out:
        # Round-robin over the templates, as a real bucket mixes probes and inputs.
        while any(remaining):
            for slot, (template, _) in enumerate(job.templates):
                if not remaining[slot]:
                    continue
                remaining[slot] -= 1
                line = _line(job, template, report_ids[slot], written)
                out.write(line)
                size += len(line)
                written += 1
    return written, size, job.path.stat().st_size


def _line(job: FileJob, template: Template, report_id: str, n: int) -> bytes:
    started = job.bucket + timedelta(seconds=n % 3600)
    fields = {"report_id": f"{report_id}{n // 3600}", "measurement_start_time": f"{started:%Y-%m-%d %H:%M:%S}"}
    if job.given_uids:
        unique = f"{job.nonce}{job.index:04x}{n:06x}"  # 16 hex digits, like OONI's
        uid = f"{started:%Y%m%d%H%M%S}.{n % 1_000_000:06d}_{template.cc}_{template.test_dir}_{unique}"
        fields = {"measurement_uid": uid, **fields}
    head = orjson.dumps(fields)
    body = template.body
    joiner = b"," if len(body) > 2 else b""
    return head[:-1] + joiner + body[1:] + b"\n"


def build_tree(
    source: Path, root: Path, measurements: int, files: int, workers: int, given_uids: bool = False
) -> Tree:
    templates, skipped = load_templates(source)
    if not templates:
        raise SystemExit(f"no readable measurements under {source}")
    jobs = plan(templates, root, measurements, files, given_uids)
    with get_context("spawn").Pool(max(1, workers)) as pool:
        results = pool.map(write_file, jobs, chunksize=1)
    return Tree(
        root=root / "raw",
        files=[job.path for job in jobs],
        measurements=sum(r[0] for r in results),
        json_bytes=sum(r[1] for r in results),
        gz_bytes=sum(r[2] for r in results),
        templates=len(templates),
        skipped=skipped,
        per_file=[(r[0], r[1]) for r in results],
    )
