"""Entities: made-up cases per type (found and normalised, and the look-alikes that must not be),
then every entity PROVENANCE.md lists for the real documents of ../shared/data/documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from striprtf.striprtf import rtf_to_text

from censorwatch.archive.entities import find_entities, normalise_entity_value
from censorwatch.archive.model import ENTITY_TYPES, Entity


def values(text: str, entity_type: str) -> list[str]:
    return [entity.value for entity in find_entities(text) if entity.type == entity_type]


FOUND = [
    # url: canonical, host lower-case punycode (the register's normal form), escapes upper-case
    ("url", "см. http://pontorez.com/node/768 .", "http://pontorez.com/node/768"),
    ("url", "HTTPS://Example.COM/Path?q=1#top", "https://example.com/Path?q=1"),
    ("url", "сайт http://президент.рф/news, и", "http://xn--d1abbgf6aiiy.xn--p1ai/news"),
    ("url", "http://pontorez.com/l/z_Вера.txt", "http://pontorez.com/l/z_%D0%92%D0%B5%D1%80%D0%B0.txt"),
    ("url", "http://pontorez.com/l/z_%d0%92%D0%B5%D1%80%D0%B0.txt", "http://pontorez.com/l/z_%D0%92%D0%B5%D1%80%D0%B0.txt"),
    ("url", "(see http://example.com/a_(b))", "http://example.com/a_(b)"),
    ("url", "«http://eais.rkn.gov.ru»", "http://eais.rkn.gov.ru/"),
    # domain: from URLs, and bare
    ("domain", "https://photo.pontorez.com/photo/x", "photo.pontorez.com"),
    ("domain", "по адресу eais.rkn.gov.ru.", "eais.rkn.gov.ru"),
    ("domain", "сайт Пример.РФ заблокирован", "xn--e1afmkfd.xn--p1ai"),
    ("domain", "www.Rutracker.ORG", "www.rutracker.org"),
    ("domain", "зеркало flibusta.is", "flibusta.is"),
    ("domain", "http://suvorov.legal/x", "suvorov.legal"),  # any TLD after a scheme
    # ip
    ("ip", "from mx1.rkn.gov.ru ([87.226.213.147]:55820)", "87.226.213.147"),
    ("ip", "подсеть 10.0.0.0/8 заблокирована", "10.0.0.0/8"),
    ("ip", "адрес 2001:DB8::1 в реестре", "2001:db8::1"),
    ("ip", "http://192.0.2.7/page", "192.0.2.7"),
    # email
    ("email", "Обращение на Zapret-Info@RKN.gov.ru.", "zapret-info@rkn.gov.ru"),
    ("email", "<abuse@ovh.ca>", "abuse@ovh.ca"),
    # phone: E.164 where the country is known
    ("phone", "тел. +7 (495) 987-65-43", "+74959876543"),
    ("phone", "звоните 8 (800) 123-45-67", "+78001234567"),
    ("phone", "call +44 20 7946 0958 today", "+442079460958"),
    ("phone", "Phone (optional): 123-456-4874", "1234564874"),
    # date
    ("date", "от 13.06.2018", "2018-06-13"),
    ("date", "13 июня 2018 г.", "2018-06-13"),
    ("date", "«13» июня 2018 года", "2018-06-13"),
    ("date", "1 мая 2019 г.", "2019-05-01"),
    ("date", "3 марта 2020", "2020-03-03"),
    ("date", "2018-06-13 10:44", "2018-06-13"),
    ("date", "2016年11月7日 通过", "2016-11-07"),
    ("date", "二〇一六年十一月七日", "2016-11-07"),
    ("date", "dated June 13, 2018", "2018-06-13"),
    ("date", "Wed, 13 Jun 2018 17:43:26 +0300", "2018-06-13"),
    # record
    ("record", "номер реестровой записи 451555-РИ в связи", "451555-РИ"),
    ("record", "запись 451555 – РИ", "451555-РИ"),
    ("record", "entry 451555-RI", "451555-РИ"),
    ("record", "Subject: [eais#560867] Роскомнадзор", "eais#560867"),
    ("record", "EAIS #560867", "eais#560867"),
    # decision
    ("decision", "решение № 27-31-2015/Ид1093-15 от", "27-31-2015/Ид1093-15"),
    ("decision", "27–31–2015/Ид1093–15", "27-31-2015/Ид1093-15"),
    ("decision", "ФНС;2-6-27/ 2016-02-03-20-АИ;2016", "2-6-27/2016-02-03-20-АИ"),
    # case
    ("case", "от 25.03.2016 № 2-1066/2016 указатель", "2-1066/2016"),
    ("case", "№ 2а-507/2018", "2а-507/2018"),
    ("case", "Решение № 2А-2206/2021", "2а-2206/2021"),
    ("case", "No 2a-507/2018", "2а-507/2018"),
    ("case", "2А-2206/2021~М-1833/2021", "М-1833/2021"),
    ("case", "№ 2-4180/07 указатель", "2-4180/07"),
    ("case", "дело А40-123456/2020", "А40-123456/2020"),
    # law
    ("law", "№ 149-ФЗ «Об информации»", "149-ФЗ"),
    ("law", "Федеральный закон от 27.07.2006 N 149-ФЗ", "149-ФЗ"),
    ("law", "закон 149 - ФЗ", "149-ФЗ"),
    ("law", "No. 149-FZ \"On Information\"", "149-ФЗ"),
    ("law", "126-ФЗ", "126-ФЗ"),
    ("law", "139-ФЗ", "139-ФЗ"),
    ("law", "398-ФЗ", "398-ФЗ"),
    ("law", "436-фз", "436-ФЗ"),
    ("law", "Федеральный конституционный закон № 2-ФКЗ", "2-ФКЗ"),
    ("law", "Федеральный закон «О связи»", "126-ФЗ"),
    ("law", "ФЕДЕРАЛЬНЫЙ ЗАКОН О СВЯЗИ", "126-ФЗ"),
    ("law", "«Об информации, информационных технологиях и о защите информации»", "149-ФЗ"),
    ("law", "中华人民共和国网络安全法", "中华人民共和国网络安全法"),
    ("law", "依照《网络安全法》第十二条", "中华人民共和国网络安全法"),
    ("law", "互联网信息服务管理办法", "互联网信息服务管理办法"),
    ("law", "DMCA Takedown Notice", "DMCA"),
    # agency: federal bodies by any name and case form
    ("agency", "Роскомнадзор информирует", "Roskomnadzor"),
    ("agency", "подтверждения Роскомнадзором факта", "Roskomnadzor"),
    ("agency", "Управление Роскомнадзора по Хабаровскому краю", "Roskomnadzor"),
    ("agency", "решение РКН", "Roskomnadzor"),
    ("agency", "RKN blocked it", "Roskomnadzor"),
    ("agency", "the Roscomnadzor is informing", "Roskomnadzor"),
    ("agency", "ФЕДЕРАЛЬНАЯ СЛУЖБА ПО НАДЗОРУ В СФЕРЕ СВЯЗИ, ИНФОРМАЦИОННЫХ ТЕХНОЛОГИЙ И МАССОВЫХ КОММУНИКАЦИЙ",
     "Roskomnadzor"),
    ("agency", "Генпрокуратура потребовала", "Prosecutor General's Office"),
    ("agency", "требование Генеральной прокуратуры Российской Федерации", "Prosecutor General's Office"),
    ("agency", "Генеральный прокурор Российской Федерации или его заместители", "Prosecutor General's Office"),
    ("agency", "решение ФНС России", "FNS"),
    ("agency", "МВД", "MVD"),
    ("agency", "ФСБ", "FSB"),
    ("agency", "Минцифры", "Mintsifry"),
    ("agency", "国家互联网信息办公室", "CAC"),
    ("agency", "国家网信办", "CAC"),
    ("agency", "国家网信部门负责统筹协调", "CAC"),
    ("agency", "网信部门和有关部门", "CAC"),
    ("agency", "the CAC said", "CAC"),
    ("agency", "工业和信息化部", "MIIT"),
    ("agency", "MIIT", "MIIT"),
    # courts: the name in the nominative, the place as written
    ("agency", "(Заволжский районный суд г. Твери - Тверская область)", "Заволжский районный суд г. Твери"),
    ("agency", "решением Заволжского районного суда г. Твери от", "Заволжский районный суд г. Твери"),
    ("agency", "Тверского районного суда г. Москвы", "Тверской районный суд г. Москвы"),
    ("agency", "Вилючинский городской суд - Камчатский край", "Вилючинский городской суд"),
    ("agency", "Николаевского-на-Амуре городского суда Хабаровского края",
     "Николаевский-на-Амуре городской суд Хабаровского края"),
    ("agency", "Верховного Суда Российской Федерации", "Верховный Суд Российской Федерации"),
    ("agency", "в Московский городской суд", "Московский городской суд"),
    ("agency", "Zavolzhsky district court of Tver - Tver region", "Zavolzhsky district court of Tver"),
    # prosecutors of regions
    ("agency", "прокурора Красноармейского района г. Волгограда Вахмениной",
     "Прокуратура Красноармейского района г. Волгограда"),
    ("agency", "Прокуратура Тверской области сообщает", "Прокуратура Тверской области"),
]


@pytest.mark.parametrize(("entity_type", "text", "value"), FOUND)
def test_found_and_normalised(entity_type: str, text: str, value: str) -> None:
    assert value in values(text, entity_type)


NOT_FOUND = [
    ("domain", "согласно ст.15.1 закона"),
    ("domain", "файл notification.rtf прилагается"),
    ("domain", "451555_notification_on.rtf"),
    ("domain", "see readme.md and setup.py"),
    ("domain", "суд г.Твери"),
    ("domain", "и т.д. и т.п."),
    ("domain", "the end.It was"),
    ("domain", "e.g. this, i.e. that"),
    ("domain", "archive.zip"),
    ("domain", "Статья 15.3-2."),
    ("ip", "version 1.2.3.4.5"),
    ("ip", "v1.2.3.4"),
    ("ip", "999.1.1.1"),
    ("ip", "at 10:44:25 -0400"),
    ("ip", "от 13.06.2018"),
    ("ip", "MAC 00:1a:2b:3c:4d:5e"),
    ("case", "от 13.06.2018"),
    ("case", "2018-06-13"),
    ("case", "статьи 15.3-2"),
    ("case", "27-31-2015/Ид1093-15"),
    ("case", "2-6-27/ 2016-02-03-20-АИ"),
    ("date", "31.02.2018"),
    ("date", "Sep 05 02:54 pm (PDT)"),
    ("date", "1.2.3.4.5"),
    ("date", "27-31-2015/Ид1093-15"),
    ("phone", "УИД 27RS0020-01-2025-000052-98"),
    ("phone", "ОГРН 84951234567"),
    ("phone", "87.226.213.147"),
    ("phone", "№ 2-1066/2016"),
    ("phone", "2018-06-13"),
    ("agency", "обратиться в районный суд"),
    ("agency", "Решением суда"),
    ("agency", "Решением районного суда установлено"),
    ("agency", "помощника прокурора Симаковой М.Ю."),
    ("law", "мы говорили о связи между ними"),
    ("law", "в области связи"),
    ("record", "451555 рублей"),
    ("url", "http:// nothing"),
    ("email", "user@localhost"),
]


@pytest.mark.parametrize(("entity_type", "text"), NOT_FOUND)
def test_look_alikes_are_not_entities(entity_type: str, text: str) -> None:
    assert values(text, entity_type) == []


def test_url_host_is_a_nested_domain_and_nothing_else_overlaps() -> None:
    text = "http://eais.rkn.gov.ru/2018-06-13/87.226.213.147 и 2-1066/2016"
    found = find_entities(text)
    assert [(entity.type, entity.text) for entity in found] == [
        ("url", "http://eais.rkn.gov.ru/2018-06-13/87.226.213.147"),
        ("domain", "eais.rkn.gov.ru"),
        ("case", "2-1066/2016"),
    ]


def test_spans_are_offsets_into_the_text() -> None:
    text = "Роскомнадзор: запись 451555-РИ, решение № 2-1066/2016 от 25.03.2016, http://pontorez.com/node/768"
    found = find_entities(text)
    assert found == sorted(found, key=lambda entity: (entity.start, -entity.end, entity.type))
    for entity in found:
        assert text[entity.start : entity.end] == entity.text


PIECES = [*"аб12-./:@#%_ ЗРИФhtpsw.ru年月日 \n", "http://", "РИ", "-ФЗ", "суд", "Роскомнадзор", "2а-"]


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
@settings(max_examples=300, deadline=None)
def test_any_text_gives_typed_entities_with_true_spans(text: str) -> None:
    for entity in find_entities(text):
        assert entity.type in ENTITY_TYPES
        assert text[entity.start : entity.end] == entity.text
        assert entity.value


@pytest.mark.parametrize(
    ("entity_type", "raw", "value"),
    [
        ("law", "149-фз", "149-ФЗ"),
        ("law", "149-FZ", "149-ФЗ"),
        ("domain", "Пример.РФ", "xn--e1afmkfd.xn--p1ai"),
        ("domain", "pontorez.com", "pontorez.com"),
        ("agency", "roskomnadzor", "Roskomnadzor"),
        ("record", "451555-RI", "451555-РИ"),
        ("case", "2А-2206/2021", "2а-2206/2021"),
        ("ip", "2001:DB8::1", "2001:db8::1"),
        ("date", "13.06.2018", "2018-06-13"),
    ],
)
def test_normalise_entity_value(entity_type: str, raw: str, value: str) -> None:
    assert normalise_entity_value(entity_type, raw) == value


def test_normalise_entity_value_rejects_unknown_types() -> None:
    with pytest.raises(ValueError, match="unknown entity type"):
        normalise_entity_value("person", "Ivanov")


# --- the real documents: what PROVENANCE.md says each must yield -------------------------------------


def pairs(found: list[Entity]) -> set[tuple[str, str]]:
    return {(entity.type, entity.value) for entity in found}


def test_real_notice_email(shared_data: Path) -> None:
    text = (shared_data / "documents" / "ru_rkn_notice_email_eais560867_2018.eml").read_text(encoding="utf-8")
    assert pairs(find_entities(text)) >= {
        ("record", "eais#560867"),
        ("url", "http://pontorez.com/node/768"),
        ("domain", "pontorez.com"),
        ("domain", "eais.rkn.gov.ru"),
        ("url", "http://eais.rkn.gov.ru/en/"),
        ("email", "zapret-info-out@rkn.gov.ru"),
        ("email", "pontorez@pontorez.com"),
        ("email", "abuse@ovh.ca"),
        ("email", "noc@ovh.net"),
        ("ip", "87.226.213.147"),
        ("date", "2018-06-13"),
        ("agency", "Roskomnadzor"),
    }


def test_real_decoded_notification(shared_data: Path) -> None:
    text = (shared_data / "documents" / "ru_rkn_notification_451555-RI_2018_decoded.txt").read_text(encoding="utf-8")
    assert pairs(find_entities(text)) >= {
        ("record", "451555-РИ"),
        ("agency", "Заволжский районный суд г. Твери"),
        ("case", "2-1066/2016"),
        ("law", "149-ФЗ"),
        ("url", "http://pontorez.com/node/768"),
        ("date", "2016-03-25"),
        ("date", "2006-07-27"),
        ("email", "zapret-info@rkn.gov.ru"),
        ("agency", "Roskomnadzor"),
    }


def test_real_court_decisions(shared_data: Path) -> None:
    text = (shared_data / "documents" / "ru_court_decisions_blocking_excerpts.txt").read_text(encoding="utf-8")
    assert pairs(find_entities(text)) >= {
        ("case", "2а-2206/2021"),
        ("case", "2а-127/2025"),
        ("agency", "Красноармейский районный суд г. Волгограда"),
        ("agency", "Николаевский-на-Амуре городской суд Хабаровского края"),
        ("agency", "Прокуратура Красноармейского района г. Волгограда"),
        ("agency", "Прокуратура Аяно-Майского района Хабаровского края"),
        ("agency", "Roskomnadzor"),
        ("date", "2021-07-21"),
        ("date", "2025-02-20"),
    }


def test_real_law_texts(shared_data: Path) -> None:
    documents = shared_data / "documents"
    federal = (documents / "ru_federal_law_149-FZ_art15x_excerpts.txt").read_text(encoding="utf-8")
    assert pairs(find_entities(federal)) >= {
        ("law", "149-ФЗ"), ("law", "97-ФЗ"), ("law", "241-ФЗ"), ("agency", "Prosecutor General's Office")
    }
    assert values(federal, "domain").count("ст.15") == 0
    html = (documents / "ru_federal_law_126-FZ_on_communications_art46_excerpt.html").read_text(encoding="utf-8")
    assert "126-ФЗ" in values(re.sub(r"<[^>]+>", " ", html), "law")
    cybersecurity = (documents / "zh_prc_cybersecurity_law_2016.md").read_text(encoding="utf-8")
    assert pairs(find_entities(cybersecurity)) >= {
        ("law", "中华人民共和国网络安全法"), ("agency", "CAC"), ("date", "2016-11-07")
    }
    measures_file = documents / "zh_state_council_internet_information_services_measures_2011.md"
    measures = measures_file.read_text(encoding="utf-8")
    assert pairs(find_entities(measures)) >= {("law", "互联网信息服务管理办法"), ("law", "中华人民共和国电信条例")}


def test_real_lumen_notice(shared_data: Path) -> None:
    text = (shared_data / "documents" / "en_lumen_fixture_twitter_dmca_notice.txt").read_text(encoding="utf-8")
    assert pairs(find_entities(text)) >= {
        ("law", "DMCA"), ("email", "someone@example.com"), ("url", "https://twitter.com/NoMatter/status/12345"),
        ("domain", "twitter.com"),
    }


# Folder -> (court as the notice names it, court case); the record number is the file's name.
NOTICES = {
    "2018-06-13_F-Stomahin-Crimea-belongs-to-Ukraine_Tver": ("Заволжский районный суд г. Твери", "2-1066/2016"),
    "2019-02-20_M-AHS-Antifashistskoe-chmo_Kamchatka": ("Вилючинский городской суд", "2а-507/2018"),
    "2019-07-08_P-Xenia-Misharina_Kirov": ("Первомайский районный суд г. Кирова", "2-292/2019"),
    "2019-07-24_M-Cyclone-Deti-gor_Moscow": ("Нагатинский районный суд", "2-4180/07"),
    "2019-08-05_M-Kolovrat-Vera-v-NS_Perm": ("Ленинский районный суд г. Перми", "2а-4692/2018"),
    "2019-08-07_M-White-patrol_Penza": ("Ленинский районный суд г. Пензы", "2а-729/2019"),
    "2019-09-05_F-Stomahin-Crimea-belongs-to-Ukraine_Tver": ("Заволжский районный суд г. Твери", "2-1066/2016"),
    "2019-09-10_M-Dagaz-Belaya-semya_Omsk": ("Куйбышевский районный суд г. Омска", "2а-1326/2018"),
    "2019-10-23_M-Timur-M-Islamskaya-Umma_Rostov-on-Don": ("Первомайский районный суд г. Ростова-на-Дону", "2-3992/14"),
    "2019-10-28_F-Nakormi-shafku_Izhevsk": ("Первомайский районный суд г. Ижевска", "2-1680/12"),
}


@pytest.mark.parametrize("folder", sorted(NOTICES))
def test_real_register_notifications(shared_data: Path, folder: str) -> None:
    directory = shared_data / "documents" / "rkn_notices" / folder
    rtf = next(directory.glob("*_notification_on.rtf"))
    text = rtf_to_text(rtf.read_bytes().decode("latin-1"), encoding="cp1251", errors="replace")
    court, case = NOTICES[folder]
    found = pairs(find_entities(text))
    assert found >= {
        ("record", rtf.name.split("_")[0] + "-РИ"),
        ("agency", court),
        ("case", case),
        ("law", "149-ФЗ"),
        ("agency", "Roskomnadzor"),
        ("domain", "eais.rkn.gov.ru"),
    }
    # The notice names its target twice (Russian and English part, once percent-encoded, once
    # not): both spellings are one URL, the one the e-mail of the same notice names.
    targets = {value for kind, value in found if kind == "url" and "pontorez.com" in value}
    mail = (directory / "readme.txt").read_text(encoding="utf-8")
    assert len(targets) == 1
    assert targets == {value for value in values(mail, "url") if "pontorez.com" in value}
    assert re.fullmatch(r"eais#\d+", values(mail, "record")[0])
