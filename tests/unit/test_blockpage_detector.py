"""The blockpage detector (docs/verdicts.md R22): every real blockpage of ../shared/data/blockpages is
caught, made-up blockpages in five languages are caught, and normal pages are left alone."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from censorwatch.analysis import analyse, blockpage_detector
from censorwatch.analysis import web_connectivity as wc
from censorwatch.analysis.blockpage_cues import CUES, FRAME, STATEMENT, TRIGGERS, WEAK_STATEMENT
from censorwatch.analysis.blockpage_detector import detect, redirected_to_blockpage_host
from censorwatch.analysis.body import title_of
from censorwatch.analysis.body_scanner import LITERAL, Pattern, build_scanner, hyperscan
from censorwatch.analysis.fingerprints import load_fingerprints
from censorwatch.analysis.web_connectivity_keys import ooni_keys
from tests.conftest import SHARED_DATA
from tests.unit.wc_builder import measurement

# file under ../shared/data/blockpages -> probe country (docs/verdicts.md, "Real blockpages")
REAL_BLOCKPAGES = {
    "warning.rt.ru.html": "RU",
    "world/AE_etisalat.html": "AE",
    "world/BY_beltelecom.html": "BY",
    "world/EG_linkdotnet.html": "EG",
    "world/ID_cp_internetpositif_202-180-9-5.html": "ID",
    "world/IN_competent_authority_59-185-3-14.html": "IN",
    "world/IR_national_iframe.html": "IR",
    "world/IR_peyvandha_10-10-34-34.html": "IR",
    "world/KR_kcsc_warning.html": "KR",
    "world/MM_motc_national.html": "MM",
    "world/PK_pta_surfsafely_micronet.html": "PK",
    "world/RU_beeline.html": "RU",
    "world/RU_cp_5-129-186-222.html": "RU",
    "world/RU_megafon.html": "RU",
    "world/RU_mts.html": "RU",
    "world/RU_tele2.html": "RU",
    "world/RU_vasexperts_skat.html": "RU",
    "world/SA_national.html": "SA",
    "world/TH_mdes_national.html": "TH",
    "world/TR_tib_pastebin.html": "TR",
}
# The real blockpages no fingerprint confirms for their country: before the detector, ok.
UNFINGERPRINTED = {
    "world/AE_etisalat.html", "world/EG_linkdotnet.html", "world/ID_cp_internetpositif_202-180-9-5.html",
    "world/IN_competent_authority_59-185-3-14.html", "world/KR_kcsc_warning.html",
    "world/PK_pta_surfsafely_micronet.html", "world/RU_cp_5-129-186-222.html",
}  # fmt: skip

# A normal site as the control saw it: its own title, 2 KB, and the header the blockpage copies.
CONTROL_TITLE = "Example Domain News"
SITE_HEADERS = {"X-Site": "1", "Server": "Apache/2.4.57"}
CONTROL = (200, 2042, CONTROL_TITLE, SITE_HEADERS)
BOX_HEADERS = {"X-Site": "1", "Server": "nginx"}  # the blockpage box copies the origin's header names

MADE_UP = {
    "ru": "<html><head><meta charset='utf-8'><title>Уведомление</title></head><body><p>Доступ к информационному "
    "ресурсу ограничен на основании Федерального закона № 149-ФЗ «Об информации, информационных технологиях и о "
    "защите информации».</p></body></html>",
    "zh": "<html><head><meta charset='utf-8'><title>提示</title></head><body><h2>您访问的网站已被屏蔽</h2>"
    "<p>根据相关法律法规，该网站暂时无法访问。如有疑问请联系您的网络服务提供商。</p></body></html>",
    "fa": "<html dir='rtl'><head><meta charset='utf-8'><title>پیام</title></head><body>"
    "<p>دسترسی به این وب\u200cسایت امکان\u200cپذیر نمی\u200cباشد.</p>"
    "<p>بر اساس قانون جرایم رایانه\u200cای و تصمیم کمیته تعیین مصادیق محتوای مجرمانه</p></body></html>",
    "tr": "<html><head><meta charset='utf-8'><title>Uyarı</title></head><body><p>Bu internet sitesine erişim, "
    "5651 sayılı Kanun kapsamında mahkeme kararı ile engellenmiştir.</p></body></html>",
    "en": "<html><head><title>Notice</title></head><body><h1>Access to this website has been restricted</h1>"
    "<p>This website has been blocked by order of the competent authority.</p></body></html>",
}

LINKS = "".join(f"<li><a href='/news/{i}'>Story {i}: markets, weather and sport</a></li>" for i in range(60))
# A news article about blocking: the same article, and title, for the probe and the control.
NEWS_ABOUT_BLOCKING = (
    f"<html><head><title>{CONTROL_TITLE}: court orders block</title></head><body><h1>Court orders block</h1>"
    "<p>Доступ к ресурсу ограничен по решению суда, пишет Роскомнадзор: сайт внесён в Единый реестр "
    "(blocklist.rkn.gov.ru) на основании 149-ФЗ. Access to the website has been restricted by order of the "
    f"court.</p><ul>{LINKS}</ul></body></html>"
)
DYNAMIC = f"<html><head><title>{CONTROL_TITLE}</title></head><body>{'<p>token 5f3a</p>' * 300}</body></html>"
# An A/B variant: another title, another length, the same headers; an ordinary shop page.
AB_VARIANT = (
    "<html><head><title>Acme: summer offers</title></head><body><h1>Summer offers</h1>"
    "<p>Some items are not available in your region. Prices include VAT in accordance with the law of your "
    "country; see the Ministry of Commerce rules.</p>"
    "<p>Cookies: мы обрабатываем данные в соответствии с 152-ФЗ «О персональных данных».</p>"
    f"<ul>{LINKS}</ul></body></html>"
)
NORMAL_THAT_DIFFERS = {
    "ab-variant": AB_VARIANT,
    "spa-shell": "<html><head><title>App</title></head><body><div id=root></div><script src=/app.js></script>",
    "soft-404": "<html><head><title>Page not found</title></head><body><h1>Sorry, this page is not available"
    "</h1><a href='/'>Home</a></body></html>",
    "gdpr-geoblock": "<html><head><title>451</title></head><body><p>We recognize you are attempting to access "
    "this website from a country belonging to the European Economic Area (EEA) including the EU which enforces "
    "the General Data Protection Regulation (GDPR) and therefore access cannot be granted at this time.</p>"
    "</body></html>",
    "cloudflare": "<html><head><title>Attention Required! | Cloudflare</title></head><body><h1>Sorry, you have "
    "been blocked</h1><h2>You are unable to access example.org</h2><p>This website is using a security service "
    "to protect itself from online attacks.</p></body></html>",
    "cookie-and-age-label": "<html><head><title>Лента</title></head><body><p>Сайт использует cookie в соответствии "
    "с 152-ФЗ. 18+ Согласно Федеральному закону 436-ФЗ.</p></body></html>",
    "warning-not-blockpage": "<html><head><title>Уведомление владельцу</title></head><body><p>Если нарушение не "
    "будет устранено, доступ к сайту будет ограничен на основании 149-ФЗ. Access will be blocked by order of the "
    "court.</p></body></html>",
}
# Real letters and decisions about blocking (../shared/data/documents): they say access *will* be restricted.
REAL_DOCUMENTS_ABOUT_BLOCKING = (
    "ru_rkn_notice_email_eais560867_2018.eml",
    "ru_rkn_notification_451555-RI_2018_decoded.txt",
    "ru_court_decisions_blocking_excerpts.txt",
)


def served(body: str | dict[str, str], headers: dict[str, str], probe_cc: str = "RU") -> dict[str, Any]:
    m = measurement(response=(200, "", headers), control_http=CONTROL, probe_cc=probe_cc)
    m["test_keys"]["requests"][0]["response"]["body"] = body
    return m


def read_page(shared_data: Path, name: str) -> str:
    return (shared_data / "blockpages" / name).read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", sorted(REAL_BLOCKPAGES))
def test_every_real_blockpage_is_detected(shared_data: Path, name: str) -> None:
    body = read_page(shared_data, name)
    found = detect(body, title_of(body), None, None)
    assert found is not None, name
    assert found.summary()


@pytest.mark.parametrize("name", sorted(REAL_BLOCKPAGES))
def test_real_blockpage_with_the_origins_headers_is_not_ok(shared_data: Path, name: str) -> None:
    """Served with status 200 and the origin's header names, OONI's v0.4 keys call each page accessible;
    a fingerprint confirms it, or the detector makes it an anomaly."""
    cc = REAL_BLOCKPAGES[name]
    m = served(read_page(shared_data, name), BOX_HEADERS, cc)
    assert ooni_keys(m["test_keys"])["blocking"] is False
    verdict = analyse(m)
    if name in UNFINGERPRINTED:
        assert (verdict.verdict, verdict.blocking) == ("anomaly", "http-diff"), verdict.reason
        assert "looks like a blockpage" in verdict.reason
    else:
        assert (verdict.verdict, verdict.blocking) == ("confirmed", "http-diff"), verdict.reason


def test_the_corpus_is_complete(shared_data: Path) -> None:
    names = {str(p.relative_to(shared_data / "blockpages")) for p in (shared_data / "blockpages").rglob("*.html")}
    assert names == set(REAL_BLOCKPAGES)


@pytest.mark.parametrize("language", sorted(MADE_UP))
def test_made_up_blockpages(language: str) -> None:
    body = MADE_UP[language]
    known = load_fingerprints().match_http(body, BOX_HEADERS, "RU")
    assert known is None or not known.confirms("RU")  # only the detector knows them
    verdict = analyse(served(body, BOX_HEADERS))
    assert (verdict.verdict, verdict.blocking) == ("anomaly", "http-diff"), verdict.reason
    assert "status and header names match" in verdict.reason
    assert "«" in verdict.reason  # it quotes what it matched


def test_the_issues_example_quotes_the_law() -> None:
    verdict = analyse(served(MADE_UP["ru"], BOX_HEADERS))
    assert "Доступ к информационному ресурсу ограничен" in verdict.reason
    assert "149-ФЗ" in verdict.reason
    assert "server (nginx vs the control's Apache/2.4.57)" in verdict.reason


def test_a_windows_1251_blockpage_in_base64_reads_as_russian() -> None:
    page = MADE_UP["ru"].replace("charset='utf-8'", "charset=windows-1251").encode("cp1251")
    body = {"format": "base64", "data": base64.b64encode(page).decode()}
    verdict = analyse(served(body, BOX_HEADERS))
    assert verdict.verdict == "anomaly"
    assert "149-ФЗ" in verdict.reason


def test_dns_to_a_lookalike_is_a_dns_anomaly() -> None:
    m = served(MADE_UP["en"], BOX_HEADERS)
    m["test_keys"]["queries"][0]["answers"] = [{"answer_type": "A", "ipv4": "198.51.100.7"}]
    m["test_keys"]["tcp_connect"][0]["ip"] = "198.51.100.7"
    verdict = analyse(m)
    assert (verdict.verdict, verdict.blocking) == ("anomaly", "dns"), verdict.reason
    assert "looks like a blockpage" in verdict.reason


@pytest.mark.parametrize("body", [NEWS_ABOUT_BLOCKING, DYNAMIC], ids=["news-about-blocking", "dynamic"])
def test_pages_with_the_controls_title_stay_ok(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the detector must not look at a page with the control's title")

    monkeypatch.setattr(wc, "detect", never)
    verdict = analyse(served(body, BOX_HEADERS))
    assert (verdict.verdict, verdict.blocking) == ("ok", None), verdict.reason


def test_the_title_gate_is_what_keeps_the_news_article_ok() -> None:
    # Read without its context, the article does say that access is restricted under 149-FZ.
    assert detect(NEWS_ABOUT_BLOCKING, title_of(NEWS_ABOUT_BLOCKING), "nginx", "Apache") is not None


@pytest.mark.parametrize("name", sorted(NORMAL_THAT_DIFFERS))
def test_normal_pages_that_differ_are_not_blockpages(name: str) -> None:
    body = NORMAL_THAT_DIFFERS[name]
    assert detect(body, title_of(body), "nginx", "Apache") is None
    assert analyse(served(body, BOX_HEADERS)).verdict == "ok"


@pytest.mark.parametrize("name", REAL_DOCUMENTS_ABOUT_BLOCKING)
def test_real_letters_about_blocking_are_not_blockpages(shared_data: Path, name: str) -> None:
    text = (shared_data / "documents" / name).read_text("utf-8")
    assert detect(text, "", "nginx", "Apache") is None


def test_a_page_matching_on_length_without_a_control_title_is_not_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wc, "detect", lambda *a, **k: pytest.fail("scanned"))
    m = served(MADE_UP["en"], BOX_HEADERS)
    m["test_keys"]["control"]["http_request"].update(title="", body_length=len(MADE_UP["en"]))
    assert analyse(m).verdict == "ok"  # nothing tells this page from the control's: a known limit


ENGINES = [pytest.param("hyperscan", marks=pytest.mark.skipif(hyperscan is None, reason="x86-64 only")),
           "aho-corasick"]  # fmt: skip


def all_bodies(shared_data: Path | None) -> list[str]:
    bodies = [*MADE_UP.values(), *NORMAL_THAT_DIFFERS.values(), NEWS_ABOUT_BLOCKING, DYNAMIC]
    return bodies + ([read_page(shared_data, name) for name in REAL_BLOCKPAGES] if shared_data else [])


@pytest.fixture
def bodies() -> list[str]:
    return all_bodies(SHARED_DATA if SHARED_DATA.is_dir() else None)


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_agree(engine: str, bodies: list[str]) -> None:
    for body in bodies:
        title = title_of(body)
        assert detect(body, title, "nginx", "Apache", engine) == detect(body, title, "nginx", "Apache")


def test_quotes_without_the_locator(bodies: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Hyperscan, statements are read over the whole page: the same cues are found."""
    with_locator = [detect(body, title_of(body), "nginx", "Apache") for body in bodies]
    monkeypatch.setattr(blockpage_detector, "_locator", lambda: None)
    for body, expected in zip(bodies, with_locator, strict=True):
        found = detect(body, title_of(body), "nginx", "Apache")
        assert (found is None) == (expected is None)
        if found is not None and expected is not None:
            assert found.points == expected.points
            assert [cue.kind for cue in found.cues] == [cue.kind for cue in expected.cues]


def test_every_statement_has_a_trigger_word(bodies: list[str]) -> None:
    """Without Hyperscan, pages without a trigger word are not scanned (blockpage_cues.TRIGGERS)."""
    triggers = build_scanner([Pattern(LITERAL, word) for word in TRIGGERS], "aho-corasick")
    statements = [i for i, (kind, _) in enumerate(CUES) if kind in (FRAME, STATEMENT, WEAK_STATEMENT)]
    for body in bodies:
        for index in statements:
            for match in re.finditer(CUES[index][1].text, body):
                assert triggers.scan(match.group(0)), (match.group(0), CUES[index][1].text)


@pytest.mark.parametrize(
    ("urls", "locations", "expected"),
    [
        (["http://warning.rt.ru/?id=1", "http://blocked.example/"], [{}, {"location": "http://warning.rt.ru/?id=1"}],
         "warning.rt.ru"),
        (["https://eais.rkn.gov.ru/", "http://blocked.example/"], [{}, {}], "eais.rkn.gov.ru"),
        (["http://lamanlabuh.aduankonten.id/", "http://archive.org"], [{}, {}], "lamanlabuh.aduankonten.id"),
        (["http://10.10.34.34/"], [{}], None),  # the input itself
        (["https://blocklist.rkn.gov.ru/", "http://eais.rkn.gov.ru/"], [{}, {}], None),  # the register's own sites
        (["https://www.example.org/", "http://example.org/"], [{}, {}], None),
        ([], [], None),
    ],
)
def test_redirect_to_a_blockpage_host(urls: list[str], locations: list[dict[str, str]], expected: str | None) -> None:
    assert redirected_to_blockpage_host(urls, locations) == expected
