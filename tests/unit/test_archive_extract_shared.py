"""archive/extract on the real documents in ../shared/data/documents (PROVENANCE.md there):
every file gives text, and what each is known to say comes out right."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from censorwatch.archive.extract import extract

pytestmark = pytest.mark.shared_data

_SPACES = re.compile(r"\s+")
_SUBJECT = re.compile(r"\[eais#\d{6}\] Роскомнадзор информирует/the Roscomnadzor is informing")


def documents(root: Path) -> list[Path]:
    return sorted(path for path in (root / "documents").rglob("*") if path.is_file())


def flat(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def test_every_document_extracts_with_text(shared_data: Path) -> None:
    paths = documents(shared_data)
    assert len(paths) >= 29
    for path in paths:
        extracted = extract(path.read_bytes(), path.name)
        text = "\n".join(part.text for part in extracted.parts)
        assert len(text) > 500, path
        assert "\ufffd" not in text, path


def test_rtf_notifications_name_the_agency_the_record_and_the_law(shared_data: Path) -> None:
    notices = sorted((shared_data / "documents" / "rkn_notices").glob("*/*.rtf"))
    assert len(notices) == 10
    for path in notices:
        extracted = extract(path.read_bytes(), path.name)
        text = extracted.parts[0].text
        record = path.name.split("_")[0]
        assert extracted.kind == "rtf"
        assert re.search(r"Роскомнадзор\w*", text), path
        assert f"номер реестровой записи {record}-РИ" in flat(text), path
        assert "№ 149-ФЗ" in text and "Roskomnadzor" in text, path
        assert "\\" not in text and "{" not in text and "Times New Roman" not in text, path
        assert extracted.metadata["encoding"] == "cp1251"
        # The template's time, the same in every notice sent in 2018 and 2019: not their date.
        assert extracted.date is None and extracted.metadata["created"] == "2018-03-21 14:55:00", path


def test_rtf_matches_the_independently_decoded_text(shared_data: Path) -> None:
    """Every line of the text PROVENANCE.md says was decoded from 451555's RTF by script."""
    documents_dir = shared_data / "documents"
    decoded = (documents_dir / "ru_rkn_notification_451555-RI_2018_decoded.txt").read_text("utf-8")
    body = decoded.split("\n---\n", 1)[1]
    [rtf] = (documents_dir / "rkn_notices").glob("2018-06-13*/451555_notification_on.rtf")
    text = flat(extract(rtf.read_bytes(), rtf.name).parts[0].text)
    lines = [flat(line) for line in body.splitlines() if line.strip()]
    assert len(lines) > 10
    for line in lines:
        assert line in text


def test_saved_emails_give_the_cyrillic_subject_date_and_sender(shared_data: Path) -> None:
    documents_dir = shared_data / "documents"
    mails = [*sorted((documents_dir / "rkn_notices").glob("*/readme.txt")),
             documents_dir / "ru_rkn_notice_email_eais560867_2018.eml"]
    assert len(mails) == 11
    for path in mails:
        extracted = extract(path.read_bytes(), path.name)
        assert extracted.kind == "email", path
        assert extracted.title is not None and _SUBJECT.fullmatch(extracted.title), extracted.title
        assert "Роскомнадзор <zapret-info-out@rkn.gov.ru>" in extracted.metadata["from"]
        assert extracted.date is not None and extracted.date.utcoffset() == dt.timedelta(hours=3)
        assert "Направляется уведомление" in extracted.parts[0].text
    first = extract(mails[-1].read_bytes(), mails[-1].name)
    assert first.title == "[eais#560867] Роскомнадзор информирует/the Roscomnadzor is informing"
    assert first.date == dt.datetime(2018, 6, 13, 17, 43, 26, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert "http://pontorez.com/node/768" in first.parts[0].text


def test_html_gives_its_visible_text(shared_data: Path) -> None:
    path = shared_data / "documents" / "ru_federal_law_126-FZ_on_communications_art46_excerpt.html"
    extracted = extract(path.read_bytes(), path.name)
    text = extracted.parts[0].text
    assert extracted.kind == "html"
    assert "Статья 46. Обязанности операторов связи" in text
    assert "1. Оператор связи обязан:" in text
    assert "margin-bottom" not in text and "<" not in text
    assert extracted.metadata["author"] == "Инна Щербакова"
    assert extracted.date == dt.datetime(2020, 5, 5, 17, 52)


def test_chinese_markdown(shared_data: Path) -> None:
    documents_dir = shared_data / "documents"
    law = extract((documents_dir / "zh_prc_cybersecurity_law_2016.md").read_bytes(), "zh_prc_cybersecurity_law_2016.md")
    assert law.title == "中华人民共和国网络安全法"
    assert "网络安全" in law.parts[0].text and "关键信息基础设施" in law.parts[0].text
    measures = documents_dir / "zh_state_council_internet_information_services_measures_2011.md"
    assert "第十五条" in extract(measures.read_bytes(), measures.name).parts[0].text


def test_english_notice_and_csv(shared_data: Path) -> None:
    documents_dir = shared_data / "documents"
    notice = extract((documents_dir / "en_lumen_fixture_twitter_dmca_notice.txt").read_bytes(), "notice.txt")
    assert notice.kind == "text" and "Twitter" in notice.parts[0].text
    export = extract((documents_dir / "en_lumen_fixture_notice_export.csv").read_bytes(), "export.csv")
    assert export.parts[0].text.startswith("NoticeID,Date,Subject")
