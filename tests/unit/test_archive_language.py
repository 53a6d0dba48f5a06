"""Language per text, per part and per document: made-up sentences table-driven, and the
real documents of ../shared/data/documents."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from censorwatch.archive.language import detect_language, document_language, with_languages
from censorwatch.archive.model import TextPart


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Роскомнадзор внёс сайт в единый реестр запрещённой информации", "ru"),
        ("Роскомнадзор", "ru"),  # short Cyrillic: Russian unless a letter says otherwise
        ("Сайт заблокований за рішенням суду", "uk"),
        ("ґанок", "uk"),
        ("Сайт заблакаваны па рашэнні суда ў Мінску", "be"),
        ("Сайтът е блокиран от прокуратурата по решение на съда", "bg"),
        ("the Roscomnadzor is informing", "en"),  # unrestricted langid says Dutch
        ("Access to this website has been restricted by a court order", "en"),
        ("Bu siteye mahkeme kararı ile erişim engellendi", "tr"),
        ("دسترسی به این سایت به دستور دادگاه مسدود شده است", "fa"),
        ("网络", "zh"),
        ("国家网信部门负责统筹协调网络安全工作", "zh"),
        ("インターネットの検閲について", "ja"),
        ("인터넷 검열", "ko"),
        ("Ο ιστότοπος αποκλείστηκε", "el"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "   ", "ok", "12345 !!", "2-1066/2016", "DMC", "—"])
def test_too_little_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == "und"


def test_mixed_part_takes_the_language_of_most_letters() -> None:
    russian = "Направляется уведомление о внесении в единый реестр доменных имён указателя страницы сайта. " * 3
    english = "It is notice of making an entry into the Unified register."
    assert detect_language(russian + english) == "ru"
    assert detect_language(english * 6 + russian) == "en"


def test_chinese_with_latin_words_is_chinese() -> None:
    assert detect_language("根据《网络安全法》第十二条，Twitter 和 Google 等网站被屏蔽。") == "zh"


def test_with_languages_fills_each_part_and_keeps_given_ones() -> None:
    parts = with_languages(
        [
            TextPart(1, "Уведомление о внесении в реестр запрещённой информации"),
            TextPart(2, "Notice of making an entry into the Unified register"),
            TextPart(3, "???"),
            TextPart(4, "whatever the extractor said", language="de"),
        ]
    )
    assert [part.language for part in parts] == ["ru", "en", "und", "de"]
    assert [part.number for part in parts] == [1, 2, 3, 4]


def test_document_language_weighs_parts_by_length() -> None:
    parts = [
        TextPart(1, "Short English cover note", language="en"),
        TextPart(2, "Длинный русский текст решения суда о блокировке сайта " * 20, language="ru"),
        TextPart(3, "", language="und"),
    ]
    assert document_language(parts) == "ru"
    assert document_language([TextPart(1, "")]) == "und"
    assert document_language([]) == "und"


def test_detection_is_fast_on_a_long_text() -> None:
    text = "Роскомнадзор информирует о внесении в единый реестр. " * 20_000  # about a megabyte
    detect_language(text)  # the model loads on first use
    started = time.perf_counter()
    assert detect_language(text) == "ru"
    assert time.perf_counter() - started < 0.2


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("ru_rkn_notification_451555-RI_2018_decoded.txt", "ru"),
        ("ru_court_decisions_blocking_excerpts.txt", "ru"),
        ("ru_federal_law_149-FZ_art15x_excerpts.txt", "ru"),
        ("zh_prc_cybersecurity_law_2016.md", "zh"),
        ("zh_state_council_internet_information_services_measures_2011.md", "zh"),
        ("en_lumen_fixture_twitter_dmca_notice.txt", "en"),
    ],
)
def test_real_documents(shared_data: Path, name: str, language: str) -> None:
    text = (shared_data / "documents" / name).read_text(encoding="utf-8")
    assert detect_language(text) == language


def test_real_bilingual_notice_halves(shared_data: Path) -> None:
    text = (shared_data / "documents" / "ru_rkn_notice_email_eais560867_2018.eml").read_text(encoding="utf-8")
    body = text.split("\n\n", 1)[1]
    russian, _, english = body.partition("It is notice")
    assert detect_language(russian) == "ru"
    assert detect_language("It is notice" + english) == "en"
    # Nearly as many Latin as Cyrillic letters: either is the part's language, never a third.
    assert detect_language(body) in {"ru", "en"}
