"""The archive index end to end on a real Tantivy index in a temporary directory: Russian word
forms, Chinese words both ways, exact identifiers, phrases, boolean operators, filters, private
documents, replacement by doc_id, snippets, and the real documents of ../shared/data/documents."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import tantivy

from censorwatch.archive import query_build
from censorwatch.archive.entities import find_entities
from censorwatch.archive.index import (
    ArchiveIndex,
    IndexBusyError,
    IndexedDocument,
    IndexFormatError,
    QueryError,
    SearchResults,
)
from censorwatch.archive.index_schema import HAN_PAIRS, TEXT_ZH
from censorwatch.archive.language import document_language, with_languages
from censorwatch.archive.model import TextPart
from censorwatch.archive.text_analysis import RUSSIAN, word_terms


def document(doc_id: str, *texts: str, collection: str = "test", day: date | None = None, private: bool = False,
             title: str = "") -> IndexedDocument:
    parts = with_languages([TextPart(number, text) for number, text in enumerate(texts, start=1)])
    entities = tuple(entity for part in parts for entity in find_entities(part.text))
    return IndexedDocument(doc_id, title or doc_id, collection, document_language(parts), day, private, parts, entities)


DOCUMENTS = [
    document("ru-order", "Роскомнадзор потребовал блокировку сайта pontorez.com по решению суда № 2-1066/2016, "
             "запись 451555-РИ. Обращения: zapret-info@rkn.gov.ru, адрес 87.226.213.147.",
             collection="rkn", day=date(2018, 6, 13)),
    document("ru-scattered",
             "Блокировки сайтов продолжаются: в деле 2 тома, 1066 страниц, решение принято в 2016 году.",
             collection="rkn", day=date(2019, 1, 10)),
    document("ru-prosecutor", "Генеральная прокуратура направила требование. Реестр единый для всех операторов связи.",
             collection="prosecutors", day=date(2020, 3, 1)),
    document("ru-registry", "Сведения внесены в единый реестр доменных имён 13.06.2018 по требованию Роскомнадзора.",
             collection="rkn", day=date(2018, 6, 14)),
    document("zh-law", "中华人民共和国网络安全法规定网络运营者应当履行安全保护义务。",
             collection="laws", day=date(2016, 11, 7)),
    document("zh-apart", "他安心工作，全力以赴。", collection="laws", day=date(2011, 1, 8)),
    document("en-dmca", "Twitter received a DMCA takedown notice and is blocking the reported accounts.",
             collection="lumen", day=date(2013, 7, 1)),
    document("mixed-notice", "Направляется уведомление о внесении в реестр. It is notice of making an entry into the "
             "Unified register: access will be limited.", collection="rkn", day=date(2019, 2, 20)),
    document("private-complaint", "Заявитель просит блокировку страницы, телефон +7 (495) 987-65-43.",
             collection="rkn", day=date(2021, 5, 5), private=True),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchiveIndex]:
    with ArchiveIndex(tmp_path_factory.mktemp("archive") / "index", writable=True) as opened:
        assert opened.add(DOCUMENTS) == len(DOCUMENTS)
        yield opened


def ids(results: SearchResults) -> set[str]:
    return {hit.doc_id for hit in results.hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Russian morphology through the Snowball stemmer
        ("блокировка", {"ru-order", "ru-scattered"}),  # not the private complaint
        ("блокировку", {"ru-order", "ru-scattered"}),
        ("Роскомнадзор", {"ru-order", "ru-registry"}),
        ("Роскомнадзора", {"ru-order", "ru-registry"}),
        ("реестра", {"ru-prosecutor", "ru-registry", "mixed-notice"}),
        ("блокиров*", {"ru-order", "ru-scattered"}),
        # English stemming
        ("blocked", {"en-dmca"}),
        ("notices", {"en-dmca", "mixed-notice"}),
        # Chinese words both ways: a word inside a longer one, and no word from loose characters
        ("网络", {"zh-law"}),
        ("网络安全法", {"zh-law"}),
        ("安全", {"zh-law"}),
        ("运营者", {"zh-law"}),
        ('"网络运营者"', {"zh-law"}),
        ('"运营者网络"', set()),
        ("安心", {"zh-apart"}),
        # identifiers, exactly
        ("2-1066/2016", {"ru-order"}),
        ("№2-1066/2016", {"ru-order"}),
        ("451555-РИ", {"ru-order"}),
        ("451555-RI", {"ru-order"}),  # Latin letters, normalised like the entity
        ("zapret-info@rkn.gov.ru", {"ru-order"}),
        ("87.226.213.147", {"ru-order"}),
        ("pontorez.com", {"ru-order"}),
        ("rkn.gov.ru", {"ru-order"}),  # the e-mail's domain
        ("2018-06-13", {"ru-registry"}),  # a date written 13.06.2018, found by its ISO value
        ("1066", {"ru-order", "ru-scattered"}),  # a plain number is a word
        # entities by name: РКН finds the documents where Roskomnadzor was recognised
        ("РКН", {"ru-order", "ru-registry"}),
        ("Roskomnadzor", {"ru-order", "ru-registry"}),
        ("law:149-ФЗ", set()),
        ("domain:pontorez.com", {"ru-order"}),
        # phrases
        ('"единый реестр"', {"ru-registry"}),
        ("единый реестр", {"ru-registry", "ru-prosecutor"}),
        ('"Unified register"', {"mixed-notice"}),
        # boolean
        ("блокировка AND 2-1066/2016", {"ru-order"}),
        ("блокировка 2-1066/2016", {"ru-order"}),
        ("блокировка NOT 2-1066/2016", {"ru-scattered"}),
        ("блокировка -pontorez.com", {"ru-scattered"}),
        ("DMCA OR 网络", {"en-dmca", "zh-law"}),
        ("(DMCA OR 网络) NOT Twitter", {"zh-law"}),
        ("NOT Роскомнадзор", {"ru-scattered", "ru-prosecutor", "zh-law", "zh-apart", "en-dmca", "mixed-notice"}),
        # the two halves of a bilingual part, each in its own language
        ("уведомление", {"mixed-notice"}),
        ("limited", {"mixed-notice"}),
    ],
)
def test_search(index: ArchiveIndex, query: str, expected: set[str]) -> None:
    results = index.search(query)
    assert ids(results) == expected
    assert results.total == len(expected)


def test_scores_rank_more_matches_first(index: ArchiveIndex) -> None:
    hits = index.search("блокировка OR pontorez.com").hits
    assert hits[0].doc_id == "ru-order"
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_private_documents_only_when_asked(index: ArchiveIndex) -> None:
    assert "private-complaint" not in ids(index.search("блокировка"))
    assert "private-complaint" in ids(index.search("блокировка", include_private=True))
    assert index.count() == len(DOCUMENTS)


def test_phone_numbers_are_not_searchable_entities(index: ArchiveIndex) -> None:
    assert ids(index.search("phone:+74959876543", include_private=True)) == set()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"collection": "rkn"}, {"ru-order", "ru-scattered", "ru-registry", "mixed-notice"}),
        ({"language": "zh"}, {"zh-law", "zh-apart"}),
        ({"language": "en"}, {"en-dmca", "mixed-notice"}),  # the notice's one part is mostly English
        ({"since": date(2018, 6, 14)}, {"ru-scattered", "ru-prosecutor", "ru-registry", "mixed-notice"}),
        ({"until": date(2013, 7, 1)}, {"zh-apart", "en-dmca"}),
        ({"since": date(2018, 1, 1), "until": date(2018, 12, 31)}, {"ru-order", "ru-registry"}),
        ({"entity": "domain:pontorez.com"}, {"ru-order"}),
        ({"entity": "record:451555-RI"}, {"ru-order"}),
        ({"entity": "agency:roskomnadzor"}, {"ru-order", "ru-registry"}),
        ({"entity": "law:中华人民共和国网络安全法"}, {"zh-law"}),
        ({"entity": "law:网络安全法"}, {"zh-law"}),
        ({"entity": "date:13.06.2018"}, {"ru-registry"}),
        ({"collection": "rkn", "include_private": True},
         {"ru-order", "ru-scattered", "ru-registry", "mixed-notice", "private-complaint"}),
    ],
)
def test_filters_with_a_blank_query(index: ArchiveIndex, filters: dict[str, object], expected: set[str]) -> None:
    assert ids(index.search("", **filters)) == expected  # type: ignore[arg-type]


def test_filters_combine_with_a_query(index: ArchiveIndex) -> None:
    assert ids(index.search("реестр", collection="rkn")) == {"ru-registry", "mixed-notice"}
    assert ids(index.search("реестр", collection="rkn", since=date(2019, 1, 1))) == {"mixed-notice"}


def test_language_filter_counts_each_part(tmp_path: Path) -> None:
    bilingual = document("two-parts", "Уведомление о внесении в реестр запрещённой информации",
                         "Notice of making an entry into the Unified register")
    with ArchiveIndex(tmp_path / "index", writable=True) as index:
        index.add([bilingual])
        assert ids(index.search("", language="en")) == {"two-parts"}
        assert ids(index.search("", language="ru")) == {"two-parts"}


@pytest.mark.parametrize(
    ("query", "filters", "message"),
    [
        ('"unclosed', {}, "unclosed quote"),
        ("(a OR b", {}, "never closed"),
        ("a AND", {}, "needs a term after it"),
        ("a", {"entity": "pontorez.com"}, "TYPE:VALUE"),
        ("a", {"entity": "person:Ivanov"}, "TYPE:VALUE"),
        ("a", {"limit": 0}, "limit"),
        ("a", {"offset": -1}, "offset"),
        ("a", {"since": date(2020, 1, 2), "until": date(2020, 1, 1)}, "after until"),
    ],
)
def test_malformed_queries_raise_query_error(
    index: ArchiveIndex, query: str, filters: dict[str, object], message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        index.search(query, **filters)  # type: ignore[arg-type]


def test_pagination(index: ArchiveIndex) -> None:
    everything = index.search("", limit=100)
    assert everything.total == len(DOCUMENTS) - 1
    pages = [index.search("", limit=3, offset=offset) for offset in (0, 3, 6)]
    assert all(page.total == everything.total for page in pages)
    assert [len(page.hits) for page in pages] == [3, 3, 2]
    assert {hit.doc_id for page in pages for hit in page.hits} == ids(everything)


def test_snippets_highlight_the_matches(index: ArchiveIndex) -> None:
    cases = {
        "блокировки": ("ru-order", ["блокировку"]),
        "2-1066/2016": ("ru-order", ["2-1066/2016"]),
        '"единый реестр"': ("ru-registry", ["единый реестр"]),
        "网络安全": ("zh-law", ["网络安全"]),
    }
    for query, (doc_id, marked) in cases.items():
        hit = next(hit for hit in index.search(query).hits if hit.doc_id == doc_id)
        assert len(hit.snippet) <= 200
        assert [hit.snippet[start:end] for start, end in hit.highlights] == marked


def test_snippet_of_a_long_document_is_the_best_passage(tmp_path: Path) -> None:
    filler = "Текст без нужных слов. " * 300
    long = document("long", filler + "Здесь решение № 2-1066/2016 о блокировке сайта. " + filler)
    with ArchiveIndex(tmp_path / "index", writable=True) as index:
        index.add([long])
        hit = index.search("2-1066/2016 блокировка").hits[0]
    assert len(hit.snippet) <= 200
    assert "2-1066/2016" in hit.snippet
    assert {hit.snippet[start:end] for start, end in hit.highlights} == {"2-1066/2016", "блокировке"}


def test_replacing_and_deleting_by_doc_id(tmp_path: Path) -> None:
    with ArchiveIndex(tmp_path / "index", writable=True) as index:
        index.add([document("a", "первая версия"), document("b", "другой документ")])
        index.add([document("a", "вторая версия")])
        assert index.count() == 2
        assert ids(index.search("первая")) == set()
        assert ids(index.search("вторая")) == {"a"}
        # Twice in one batch: the later one stays.
        index.add([document("c", "старый текст"), document("c", "новый текст")])
        assert (ids(index.search("старый")), ids(index.search("новый"))) == (set(), {"c"})
        index.delete(["a", "missing"])
        assert index.count() == 2
        assert ids(index.search("версия")) == set()


def test_a_failed_batch_adds_nothing(tmp_path: Path) -> None:
    def documents() -> Iterator[IndexedDocument]:
        yield document("first", "будет отменено")
        raise RuntimeError("the store went away")

    with ArchiveIndex(tmp_path / "index", writable=True) as index:
        with pytest.raises(RuntimeError):
            index.add(documents())
        index.add([document("second", "сохранено")])
        assert ids(index.search("отменено")) == set()
        assert index.count() == 1


def test_reopening_read_only(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with ArchiveIndex(directory, writable=True) as index:
        index.add([document("kept", "Роскомнадзор внёс запись 451555-РИ")])
    with ArchiveIndex(directory) as reader:
        assert reader.count() == 1
        assert ids(reader.search("451555-РИ")) == {"kept"}
        with pytest.raises(PermissionError):
            reader.add([document("other", "текст")])


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    with ArchiveIndex(tmp_path / "index", writable=True):
        with pytest.raises(IndexBusyError, match="another process is writing"):
            ArchiveIndex(tmp_path / "index", writable=True)
        assert ArchiveIndex(tmp_path / "index").count() == 0  # readers are never locked out


def test_a_missing_or_foreign_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ArchiveIndex(tmp_path / "nothing")
    directory = tmp_path / "index"
    ArchiveIndex(directory, writable=True).close()
    (directory / "censorwatch-archive-index.json").write_text(json.dumps({"schema": 0}), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="rebuild"):
        ArchiveIndex(directory)


# --- a phrase's script chooses its fields ----------------------------------------------------------
# A phrase without Latin letters is searched in text_ru alone, one without Cyrillic in text_en alone
# (query_build.py's note says why that loses no document); these compare with searching both.


FORMS = [
    document("f-nominative", "Блокировка сайтов продолжается, единый реестр растёт."),
    document("f-genitive", "После блокировки сайта внесли запись в единого реестра раздел."),
    document("f-instrumental", "Занимается БЛОКИРОВКОЙ сайту и реестром."),
    document("f-yo", "Ёлка и ёж, ещё ёлки."),
    document("f-ye", "Елка и еж, еще елки."),
    document("f-homoglyph", "блокирoвка (a Latin o) и сайтa (a Latin a)"),
    document("f-suffixes", "сайтs сайтes сайтed сайтing блокировкаies reestrом"),
    document("f-latin", "The site and its sites were blocked; blocking sites, Site blocks."),
    document("f-mixed", "закон DMCA и закона DMCA, notice о блокировке, Twitter получил уведомление."),
    document("f-cases", "\u212aelvin İstanbul STRASSE Straße naïve café"),
    document("f-marks", "блокиро\u0301вка и ιστος, ΙΣΤΟΣ"),
    document("f-digits", "решение 1066 от 2016 года, 1066 страниц"),
]
_WORD = re.compile(r"[^\W_]+")


@pytest.fixture(scope="module")
def forms_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchiveIndex]:
    with ArchiveIndex(tmp_path_factory.mktemp("forms") / "index", writable=True) as opened:
        opened.add(DOCUMENTS + FORMS)
        yield opened


def word_queries(texts: list[str]) -> list[str]:
    """Every word of `texts` as written, lower- and upper-cased, and every two and three words
    side by side as a phrase."""
    queries: set[str] = set()
    for text in texts:
        for run in re.split(r"[^\w ]+|_", text):
            words = _WORD.findall(run)
            for word in words:
                queries.update({word, word.lower(), word.upper()})
            for size in (2, 3):
                queries.update('"' + " ".join(words[i : i + size]) + '"' for i in range(len(words) - size + 1))
    return sorted(queries - {"AND", "OR", "NOT"})


def results(index: ArchiveIndex, query: str) -> tuple[int, dict[str, tuple[str, tuple[tuple[int, int], ...]]]]:
    found = index.search(query, include_private=True, limit=100)
    return found.total, {hit.doc_id: (hit.snippet, hit.highlights) for hit in found.hits}


def positional_phrases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Words side by side searched as the word fields' positions say, not as pairs: a phrase
    query on text_ru and one on text_en (the best counting), and Chinese on text_zh."""
    words, side_by_side = query_build.QueryBuilder._words, query_build._side_by_side

    def positional_words(self: query_build.QueryBuilder, text: str, *, prefix: bool) -> tantivy.Query | None:
        query = words(self, text, prefix=prefix)  # the highlights, as the pairs record them
        terms = {analyzer: word_terms(analyzer, text) for _, analyzer in query_build._WORD_FIELDS}
        if prefix or len(terms[RUSSIAN]) < 2:
            return query
        fields = query_build._WORD_FIELDS
        return tantivy.Query.disjunction_max_query(
            [tantivy.Query.phrase_query(self.schema, name, terms[analyzer]) for name, analyzer in fields]
        )

    def positional_chinese(schema: tantivy.Schema, field_name: str, pieces: list[tuple[int, str]]) -> tantivy.Query:
        if field_name != HAN_PAIRS:
            return side_by_side(schema, field_name, pieces)
        return tantivy.Query.phrase_query(schema, TEXT_ZH, list(pieces))

    monkeypatch.setattr(query_build.QueryBuilder, "_words", positional_words)
    monkeypatch.setattr(query_build, "_side_by_side", positional_chinese)


def compare_with_positions(index: ArchiveIndex, queries: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    paired = {query: results(index, query) for query in queries}
    positional_phrases(monkeypatch)
    positional = {query: results(index, query) for query in queries}
    monkeypatch.undo()
    # The same documents, with the same snippets (only the scores may differ).
    assert {query: found for query, found in paired.items() if found != positional[query]} == {}
    assert any(total for total, _ in paired.values())


def test_pairs_find_what_positions_find(forms_index: ArchiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    queries = word_queries([part.text for doc in DOCUMENTS + FORMS for part in doc.parts])
    queries += ["блокировка", '"блокировка сайтов"', '"единый реестр"', '"закон DMCA"', "DMCA OR реестр",
                "блокировка -DMCA", '"Twitter получил"', "блокиров*", "site*", "网络安全 реестр"]
    compare_with_positions(forms_index, queries, monkeypatch)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("блокировка", {"ru-order", "ru-scattered", "private-complaint", "f-nominative", "f-genitive",
                        "f-instrumental", "f-mixed"}),
        ('"блокировка сайтов"', {"ru-order", "ru-scattered", "f-nominative", "f-genitive", "f-instrumental"}),
        ('"единый реестр"', {"ru-registry", "f-nominative", "f-genitive"}),
        ("ёлка", {"f-yo", "f-ye"}),
        ("блокирoвка", {"f-homoglyph"}),  # a Latin o inside: both fields, and it is found as written
        ('"закон DMCA"', {"f-mixed"}),  # mixed scripts: both fields
        ("sites", {"f-latin"}),
        ('"blocking sites"', {"f-latin"}),
        ("1066", {"ru-order", "ru-scattered", "f-digits"}),
    ],
)
def test_word_forms_by_script(forms_index: ArchiveIndex, query: str, expected: set[str]) -> None:
    assert {hit.doc_id for hit in forms_index.search(query, include_private=True, limit=100).hits} == expected


def test_phrase_snippet_still_prefers_the_words_as_typed(tmp_path: Path) -> None:
    # text_en is no longer searched for a Russian phrase, but its terms (the words as typed) still
    # choose the passage: the exact phrase, not the first inflected one.
    text = "Началась блокировка сайта. " + "Другие слова здесь. " * 20 + "Снова блокировки сайтов."
    with ArchiveIndex(tmp_path / "index", writable=True) as index:
        index.add([document("d", text)])
        (hit,) = index.search('"блокировки сайтов"').hits
    assert [hit.snippet[start:end] for start, end in hit.highlights] == ["блокировки сайтов"]


# --- the real documents --------------------------------------------------------------------------


REAL = {
    "ru_rkn_notice_email_eais560867_2018.eml": date(2018, 6, 13),
    "ru_rkn_notification_451555-RI_2018_decoded.txt": date(2018, 6, 13),
    "ru_court_decisions_blocking_excerpts.txt": date(2021, 7, 21),
    "ru_federal_law_149-FZ_art15x_excerpts.txt": date(2006, 7, 27),
    "zh_prc_cybersecurity_law_2016.md": date(2016, 11, 7),
    "zh_state_council_internet_information_services_measures_2011.md": date(2011, 1, 8),
    "en_lumen_fixture_twitter_dmca_notice.txt": None,
}


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchiveIndex]:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    documents = [
        document(name, (SHARED_DATA / "documents" / name).read_text(encoding="utf-8"), day=day)
        for name, day in REAL.items()
    ]
    with ArchiveIndex(tmp_path_factory.mktemp("real") / "index", writable=True) as opened:
        opened.add(documents)
        yield opened


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("eais#560867", {"ru_rkn_notice_email_eais560867_2018.eml"}),
        ("http://pontorez.com/node/768",
         {"ru_rkn_notice_email_eais560867_2018.eml", "ru_rkn_notification_451555-RI_2018_decoded.txt"}),
        ("87.226.213.147", {"ru_rkn_notice_email_eais560867_2018.eml"}),
        ("451555-РИ", {"ru_rkn_notification_451555-RI_2018_decoded.txt"}),
        ("2-1066/2016", {"ru_rkn_notification_451555-RI_2018_decoded.txt"}),
        ("2а-2206/2021", {"ru_court_decisions_blocking_excerpts.txt"}),
        ('"Заволжский районный суд"', {"ru_rkn_notification_451555-RI_2018_decoded.txt"}),
        ("网络运营者", {"zh_prc_cybersecurity_law_2016.md"}),
        ("互联网信息服务", {"zh_state_council_internet_information_services_measures_2011.md"}),
        ("国家网信部门", {"zh_prc_cybersecurity_law_2016.md"}),
        ("DMCA", {"en_lumen_fixture_twitter_dmca_notice.txt"}),
    ],
)
def test_real_documents(real_index: ArchiveIndex, query: str, expected: set[str]) -> None:
    assert expected <= ids(real_index.search(query))


def test_real_documents_pairs_find_what_positions_find(
    real_index: ArchiveIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import SHARED_DATA

    texts = [(SHARED_DATA / "documents" / name).read_text(encoding="utf-8")[:4000] for name in REAL]
    queries = word_queries(texts)
    # Every fifth, in a stable order: still over a thousand words and phrases of every language.
    compare_with_positions(real_index, queries[::5], monkeypatch)


def test_real_entity_filters(real_index: ArchiveIndex) -> None:
    assert ids(real_index.search("", entity="law:149-фз")) >= {
        "ru_rkn_notification_451555-RI_2018_decoded.txt", "ru_federal_law_149-FZ_art15x_excerpts.txt"
    }
    assert ids(real_index.search("", entity="agency:Заволжский районный суд г. Твери")) == {
        "ru_rkn_notification_451555-RI_2018_decoded.txt"
    }
    assert ids(real_index.search("", entity="agency:CAC")) == {"zh_prc_cybersecurity_law_2016.md"}
