"""Each edge case of the register dump formats, one test each, on lines written here in both
encodings; plus a property: no line makes the parser raise anything but a counted reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorwatch.model.registry import DUMP, NXDOMAIN, NormaliseError
from censorwatch.sources.registry_ru import (
    DumpCsv,
    NxdomainTxt,
    RegistryFormatError,
    date_in_name,
    parse_dump_line,
    parse_updated,
)
from censorwatch.sources.registry_ru_xml import DumpXml


def test_2016_ip_list_with_spaced_bars() -> None:
    entry = parse_dump_line(
        "148.251.140.112 | 148.251.140.113 | 148.251.140.114;;;ФНС;2-6-27/ 2016-02-03-20-АИ;2016-02-04"
    )
    assert entry.ips == ("148.251.140.112", "148.251.140.113", "148.251.140.114")
    assert (entry.domains, entry.urls) == ((), ())
    assert (entry.authority, entry.decision) == ("ФНС", "2-6-27/ 2016-02-03-20-АИ")
    assert entry.decision_date == date(2016, 2, 4)


def test_modern_ip_list_with_bare_bars_and_ipv6() -> None:
    entry = parse_dump_line(
        "104.21.4.132|172.67.132.28|2606:4700:3033::6815:484|2606:4700:3035::AC43:841C;skajite-a.ru;"
        "https://skajite-a.ru/author/alexxlab/page/788;ФНС;2-6-18/2022;2022-05-26"
    )
    assert entry.ips == ("104.21.4.132", "172.67.132.28", "2606:4700:3033::6815:484", "2606:4700:3035::ac43:841c")


def test_cidr_subnets_go_apart_from_addresses() -> None:
    entry = parse_dump_line("1.2.3.4|5.6.7.0/24|2a06:98c1:3122:e000::/56;;;МВД;1;2019-09-04")
    assert entry.ips == ("1.2.3.4",)
    assert entry.subnets == ("5.6.7.0/24", "2a06:98c1:3122:e000::/56")


def test_wildcard_domain() -> None:
    entry = parse_dump_line("1.1.1.1;*.casino-x.com;;ФНС;2-6;2021-01-01")
    (domain,) = entry.domains
    assert domain.wildcard and domain.ascii == "casino-x.com" and domain.text == "*.casino-x.com"


def test_several_urls_in_one_line() -> None:
    entry = parse_dump_line(
        "217.12.201.7;1torrents.net;http://1torrents.net/a.html | http://1torrents.net/b.html | "
        "http://1torrents.net/c.html;Мосгорсуд;2и-0040/2016;2016-01-28"
    )
    assert entry.urls == ("http://1torrents.net/a.html", "http://1torrents.net/b.html", "http://1torrents.net/c.html")


def test_empty_authority_and_decision() -> None:
    entry = parse_dump_line("104.21.4.132;skajite-a.ru;https://skajite-a.ru/page/789;;;2022-05-26")
    assert (entry.authority, entry.decision, entry.decision_date) == (None, None, date(2022, 5, 26))


def test_unescaped_semicolons_inside_a_url() -> None:
    entry = parse_dump_line("46.101.162.18;sexovolg.com;http://sexovolg.com/?C=N;O=A;суд;2-21/2016;2015-12-29")
    assert entry.urls == ("http://sexovolg.com/?C=N;O=A",)
    assert (entry.authority, entry.decision) == ("суд", "2-21/2016")


def test_quoted_url_with_semicolon_and_html_entities() -> None:
    entry = parse_dump_line(
        '151.80.0.236;argo-casino.com;"http://argo-casino.com/?a_aid=556d&amp;a_bid=1;x";ФНС;2-6-27;2016-02-04'
    )
    assert entry.urls == ("http://argo-casino.com/?a_aid=556d&a_bid=1;x",)


def test_idn_domain_and_url_in_punycode_with_unicode_kept() -> None:
    entry = parse_dump_line("31.220.20.115;www.76автобар.рф;http://www.76автобар.рф;суд;2-518/2016;2016-03-01")
    (domain,) = entry.domains
    assert domain.ascii == "www.xn--76-8kcaef8fsao.xn--p1ai" and domain.unicode == "www.76автобар.рф"
    assert entry.urls == ("http://www.xn--76-8kcaef8fsao.xn--p1ai/",)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("only;three;fields", "fields"),
        ("1.2.3.4;;;суд;1;not-a-date", "date"),
        ("1.2.3.999;;;суд;1;2016-01-01", "IP"),
        (";;;суд;1;2016-01-01", "names nothing"),
        ("1.2.3.4;bad domain.com;;суд;1;2016-01-01", "domain"),
    ],
)
def test_broken_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        parse_dump_line(line)


def _write_dump(path: Path, lines: list[str], encoding: str = "cp1251", header: str | None = None) -> Path:
    text = "\n".join(([header] if header else []) + lines) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def test_windows_1251_file_with_updated_header_and_broken_lines(tmp_path: Path) -> None:
    path = _write_dump(
        tmp_path / "dump.csv",
        [
            "1.1.1.1;пример.рф;http://пример.рф/страница;суд;2-1/2016;2016-01-01",
            "garbage",
            "",
            "2.2.2.2;;;МВД;7;2016-02-02",
        ],
        header="Updated: 2016-06-06 19:00:02 +0000",
    )
    dump = DumpCsv(path)
    assert dump.read_header() == datetime(2016, 6, 6, 19, 0, 2, tzinfo=UTC)
    entries = list(dump.entries())
    assert [e.authority for e in entries] == ["суд", "МВД"]
    assert entries[0].domains[0].unicode == "пример.рф"
    assert dump.stats.entries == 2 and dump.stats.skipped_total == 1
    assert dump.stats.examples == ["dump.csv:3: 1 fields, expected 6"]


def test_utf8_mirror_reads_the_same(tmp_path: Path) -> None:
    line = "1.1.1.1;пример.рф;;Генпрокуратура;27-31;2016-01-01"
    cp = list(DumpCsv(_write_dump(tmp_path / "a.csv", [line])).entries())
    utf = list(DumpCsv(_write_dump(tmp_path / "b.csv", [line], encoding="utf-8")).entries())
    assert cp == utf and cp[0].authority == "Генпрокуратура"


def test_updated_header_forms() -> None:
    assert parse_updated("Updated: 2016-06-13 12:04:00 +0000") == datetime(2016, 6, 13, 12, 4, tzinfo=UTC)
    assert parse_updated("Updated: 2023-10-01 09:00:00 +0300") == datetime(2023, 10, 1, 6, 0, tzinfo=UTC)
    assert parse_updated("1.2.3.4;;;a;b;2016-01-01") is None


def test_nxdomain_list(tmp_path: Path) -> None:
    path = tmp_path / "nxdomain.txt"
    path.write_text("0.the-rutor.org\nпример.рф\n\nnot a domain\n", encoding="utf-8")
    reader = NxdomainTxt(path)
    entries = list(reader.entries())
    assert [e.domains[0].ascii for e in entries] == ["0.the-rutor.org", "xn--e1afmkfd.xn--p1ai"]
    assert all(e.list_name == NXDOMAIN for e in entries)
    assert reader.stats.skipped_total == 1


def test_dates_in_file_names() -> None:
    assert date_in_name(Path("nxdomain_2020-02-16.txt")) == date(2020, 2, 16)
    assert date_in_name(Path("dump-20231001.csv")) == date(2023, 10, 1)
    assert date_in_name(Path("nxdomain.txt")) is None


XML = """<?xml version="1.0" encoding="windows-1251"?>
<reg:register updateTime="2016-06-06T22:00:02+03:00" formatVersion="2.4" xmlns:reg="http://rsoc.ru">
<content id="114111" includeTime="2014-11-12T22:04:31" entryType="1" blockType="domain" hash="D99">
  <decision date="2014-11-05" number="2/1/11-28574" org="ФСКН"/>
  <domain><![CDATA[legalrc.biz]]></domain>
  <ip>5.230.145.37</ip>
</content>
<content id="7" includeTime="2016-01-02T10:00:00" entryType="1">
  <decision date="2016-01-01" number="2-1/2016" org="суд"/>
  <url><![CDATA[http://пример.рф/a?b=1&c=2]]></url>
  <url><![CDATA[https://пример.рф/b]]></url>
  <domain><![CDATA[пример.рф]]></domain>
  <ip>1.1.1.1</ip><ipv6>2001:db8::1</ipv6><ipSubnet>10.0.0.0/8</ipSubnet>
</content>
<content id="x8"><decision date="2016-01-01" number="1" org="суд"/><ip>1.2.3.4</ip></content>
<content id="9" blockType="domain-mask"><decision date="2016-01-01" number="2" org="суд"/>
  <domain><![CDATA[*.casino.com]]></domain></content>
</reg:register>
"""


def test_operators_xml_dump(tmp_path: Path) -> None:
    path = tmp_path / "dump.xml"
    path.write_bytes(XML.encode("cp1251"))
    dump = DumpXml(path)
    assert dump.read_header() == datetime(2016, 6, 6, 19, 0, 2, tzinfo=UTC)
    entries = list(dump.entries())
    assert [e.content_id for e in entries] == [114111, 7, 9]
    first, second, third = entries
    assert first.block_type == "domain" and first.domains[0].ascii == "legalrc.biz"
    assert first.include_time == datetime(2014, 11, 12, 19, 4, 31, tzinfo=UTC)
    assert second.block_type == "default"
    assert second.urls == ("http://xn--e1afmkfd.xn--p1ai/a?b=1&c=2", "https://xn--e1afmkfd.xn--p1ai/b")
    assert second.ips == ("1.1.1.1", "2001:db8::1") and second.subnets == ("10.0.0.0/8",)
    assert (second.authority, second.decision, second.decision_date) == ("суд", "2-1/2016", date(2016, 1, 1))
    assert third.domains[0].wildcard
    assert all(e.list_name == DUMP for e in entries)
    assert dump.stats.skipped_total == 1 and "not a number" in dump.stats.examples[0]


def test_xml_with_a_doctype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><reg:register xmlns:reg="x"/>')
    with pytest.raises(RegistryFormatError, match="document type"):
        list(DumpXml(path).entries())


def test_truncated_xml_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "dump.xml"
    path.write_bytes(XML.encode("cp1251")[: XML.encode("cp1251").index(b'<content id="x8"') + 10])
    dump = DumpXml(path)
    assert [e.content_id for e in dump.entries()] == [114111, 7]
    assert "XML broken" in dump.stats.examples[-1]


@given(st.text(alphabet=st.sampled_from(list("1.2:;|/ *\"abcп-рф0&#%?=")) , max_size=120))
def test_any_line_parses_or_gives_a_reason(line: str) -> None:
    try:
        entry = parse_dump_line(line)
    except NormaliseError:
        return
    assert entry.ips or entry.subnets or entry.domains or entry.urls
