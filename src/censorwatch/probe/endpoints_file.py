"""The endpoints the probe's tests measure (messenger addresses, bridges, resolvers, download
sizes): a YAML file shipped with censorwatch (data/probe-endpoints.yaml, format in
docs/probe-endpoints.md), replaced as a whole by `probe --endpoints FILE` when a list has gone
stale or a lab points the tests at loopback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FORMAT_VERSION = 1
SHIPPED_NAME = "probe-endpoints.yaml"


class EndpointsError(ValueError):
    """The endpoints file cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Endpoints:
    source: str  # the file's path, or "the shipped endpoints" for the packaged one
    sections: Mapping[str, Mapping[str, Any]]

    def section(self, test_name: str) -> Mapping[str, Any]:
        found = self.sections.get(test_name)
        if found is None:
            raise EndpointsError(f"{self.source} has no section for the test {test_name!r}")
        return found


def shipped_text() -> str:
    return resources.files("censorwatch.data").joinpath(SHIPPED_NAME).read_text(encoding="utf-8")


def load_endpoints(path: Path | None = None) -> Endpoints:
    if path is None:
        return parse_endpoints(shipped_text(), "the shipped endpoints")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EndpointsError(f"cannot read the endpoints file {path}: {error}") from error
    return parse_endpoints(text, str(path))


def parse_endpoints(text: str, source: str) -> Endpoints:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise EndpointsError(f"{source} is not valid YAML: {error}") from error
    if not isinstance(document, Mapping):
        raise EndpointsError(f"{source} must be a mapping of test name to section")
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise EndpointsError(f"{source} has version {version!r}; this censorwatch reads version {FORMAT_VERSION}")
    sections: dict[str, Mapping[str, Any]] = {}
    for name, section in document.items():
        if name == "version":
            continue
        if not isinstance(section, Mapping):
            raise EndpointsError(f"{source}: the section {name!r} must be a mapping")
        sections[str(name)] = section
    return Endpoints(source, sections)


def write_endpoints(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> None:
    """A file `load_endpoints` reads back (the lab writes one per case)."""
    document: dict[str, Any] = {"version": FORMAT_VERSION, **{name: dict(body) for name, body in sections.items()}}
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
