"""Documents for bench_archive.py, grown from the real ones in ../shared/data/documents.

The seeds are read with censorwatch's own extractors (RTF, e-mail, HTML, text) and cut into
paragraphs by family: Roskomnadzor notices (RTF) and their e-mails, Russian court decisions,
Russian laws, Chinese laws, English notices. Document `number` of a run is built from its own
random generator (seed, number), so any process builds any document without the others and the
first M documents of a run are the same whatever N is (bench phases share them):

- a family by weight (60 % Russian: notices 25, e-mails 15, court decisions 10, laws 10;
  30 % Chinese laws; 10 % English), one real document of it as the head;
- a size drawn log-uniformly between 2 and 20 KB (UTF-8 bytes);
- the head's first paragraphs kept, the others kept with probability 0.8, their sentences
  shuffled now and then, then paragraphs of other documents of the same language until the
  size is reached;
- every identifier varied: register records (NNNNNN-РИ), eais# numbers, case and material
  numbers, dates (numeric, Russian and Chinese written), URLs and domains (one in twenty an
  IP address, one in twenty a Cyrillic .рф host), IPs, courts and regions, judges' names,
  the description of the prohibited material, tweet and notice ids.

Only the seeds' vocabulary is real; names, domains and identifiers are made up, so the index
holds many more distinct identifiers than words (docs/archive.md, "Figures", says what follows)."""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import psutil

from censorwatch.archive.extract import extract

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "documents"
MIN_BYTES, MAX_BYTES = 2_000, 20_000

# family: (collection, weight, language, file suffix, paragraphs always kept from the head)
FAMILIES = {
    "rkn_notice": ("rkn-notices", 25, "ru", ".rtf", 3),
    "rkn_email": ("rkn-mail", 15, "ru", ".eml", 1),
    "ru_court": ("ru-courts", 10, "ru", ".txt", 6),
    "ru_law": ("ru-laws", 10, "ru", ".txt", 1),
    "zh_law": ("cn-laws", 30, "zh", ".txt", 2),
    "en_notice": ("lumen", 10, "en", ".txt", 2),
}
_NAMES = list(FAMILIES)
_WEIGHTS = [FAMILIES[name][1] for name in _NAMES]

# (nominative of the district court's adjective, its transliteration)
_DISTRICTS = [
    ("Ленинский", "Leninsky"), ("Кировский", "Kirovsky"), ("Октябрьский", "Oktyabrsky"),
    ("Центральный", "Tsentralny"), ("Советский", "Sovetsky"), ("Заволжский", "Zavolzhsky"),
    ("Первомайский", "Pervomaysky"), ("Железнодорожный", "Zheleznodorozhny"),
    ("Красноармейский", "Krasnoarmeysky"), ("Индустриальный", "Industrialny"),
    ("Пролетарский", "Proletarsky"), ("Фрунзенский", "Frunzensky"), ("Калининский", "Kalininsky"),
    ("Московский", "Moskovsky"), ("Приморский", "Primorsky"), ("Свердловский", "Sverdlovsky"),
]
# (city in the genitive, region, English city, English region)
_CITIES = [
    ("Твери", "Тверская область", "Tver", "Tver region"), ("Перми", "Пермский край", "Perm", "Perm region"),
    ("Омска", "Омская область", "Omsk", "Omsk region"), ("Пензы", "Пензенская область", "Penza", "Penza region"),
    ("Кирова", "Кировская область", "Kirov", "Kirov region"),
    ("Ижевска", "Удмуртская Республика", "Izhevsk", "Udmurt Republic"),
    ("Ростова-на-Дону", "Ростовская область", "Rostov-on-Don", "Rostov region"),
    ("Волгограда", "Волгоградская область", "Volgograd", "Volgograd region"),
    ("Казани", "Республика Татарстан", "Kazan", "Republic of Tatarstan"),
    ("Новосибирска", "Новосибирская область", "Novosibirsk", "Novosibirsk region"),
    ("Екатеринбурга", "Свердловская область", "Yekaterinburg", "Sverdlovsk region"),
    ("Самары", "Самарская область", "Samara", "Samara region"),
    ("Уфы", "Республика Башкортостан", "Ufa", "Republic of Bashkortostan"),
    ("Краснодара", "Краснодарский край", "Krasnodar", "Krasnodar region"),
    ("Воронежа", "Воронежская область", "Voronezh", "Voronezh region"),
    ("Хабаровска", "Хабаровский край", "Khabarovsk", "Khabarovsk region"),
    ("Петропавловска-Камчатского", "Камчатский край", "Petropavlovsk-Kamchatsky", "Kamchatka region"),
    ("Иркутска", "Иркутская область", "Irkutsk", "Irkutsk region"),
]
_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря"]
_SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "to", "vi", "za", "pro", "net", "web", "info", "mir", "rus", "svo",
              "bo", "da", "ger", "kol", "ov", "ra", "sta", "tur", "um", "ya", "zel", "chi", "pa", "sky", "lib"]
_TLDS = ["ru", "ru", "ru", "com", "com", "net", "org", "info", "su", "io", "ua", "by", "kz"]
_RU_SYLLABLES = ["ка", "ло", "ми", "не", "ра", "то", "ви", "за", "бо", "да", "ге", "ко", "сте", "тур", "ян",
                 "зе", "чи", "па", "ли", "ро", "ше", "гу", "ва", "де"]
_SURNAME_ENDS = ["ов", "ев", "ин", "ский", "ова", "ева", "ина", "ская", "енко", "ук"]
# Dates that name a law, kept: "Федерального закона от 27.07.2006 № 149-ФЗ".
_LAW_DATES = {"27.07.2006", "07.07.2003", "26.10.2012", "27 июля 2006", "7 июля 2003", "26 октября 2012"}

_RECORD = re.compile(r"\b\d{6}\s?[-–]\s?(?:РИ|RI)\b")
_EAIS = re.compile(r"eais#\d+")
_URL = re.compile(r"https?://(?![\w.]*rkn\.gov\.ru)[^\s\"»<>)]+")
_SEED_DOMAIN = re.compile(r"\b(?:pontorez\.com|pm\.me|ovh\.ca|ovh\.net)\b")
_CASE = re.compile(r"\b\d{1,2}[аА]?-\d{1,5}/\d{2,4}\b")
_MATERIAL = re.compile(r"\bМ-\d+/\d{4}\b")
_DATE = re.compile(r"\b\d{2}\.\d{2}\.\d{4}\b")
_RU_DATE = re.compile(r"\b\d{1,2} (?:" + "|".join(_MONTHS) + r") \d{4}")
_ZH_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
_COURT_RU = re.compile(r"\((?=[^()]*(?:суд|Суд))[^()]*\)")
_COURT_EN = re.compile(r"\((?=[^()]*court)[^()]*\)")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_JUDGE = re.compile(r"\b[А-Я][а-я]{3,}(?:ой|ва|на|ина|ого) [А-Я]\.[А-Я]\.")
_DESCRIPTION = re.compile(r"(Описание запрещенной информации:\s*).*")
_TWEET = re.compile(r"(?<=status/)\d+")
_NOTICE_ID = re.compile(r"^\d{7},", re.MULTILINE)
# A full stop ends a sentence only before a space: "15.1" and "27.07.2006" stay whole.
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|(?<=[。；])")
_CUT = re.compile(r"\[?\.\.\. ?excerpt cut here ?\.\.\.\]?")


@dataclass(frozen=True)
class Corpus:
    heads: dict[str, list[list[str]]]  # family: its real documents, each as paragraphs
    pools: dict[str, list[str]]  # language: every paragraph of that language
    words_ru: list[str] = field(default_factory=list)  # Russian words, for descriptions


@dataclass(frozen=True)
class GeneratedDocument:
    number: int
    family: str
    collection: str
    language: str  # the language the family is written in (detection decides what is indexed)
    name: str  # file name, with the suffix its format has
    title: str | None  # the e-mail's subject; other formats have none (ingest then uses the name)
    date: datetime | None  # the e-mail's Date; other formats have none
    text: str
    headers: tuple[tuple[str, str], ...] = ()  # e-mail headers


def _paragraphs(text: str) -> list[str]:
    lines = [_CUT.sub("", line).strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#") and line != "---"]


def _sections(text: str) -> list[str]:
    """The `=== [n]` sections of a seed file of excerpts, each one document."""
    return [part for part in re.split(r"^=== \[\d+\].*$", text, flags=re.MULTILINE)[1:] if part.strip()]


def _language(paragraph: str) -> str:
    han = len(re.findall(r"[\u4e00-\u9fff]", paragraph))
    cyrillic = len(re.findall(r"[а-яА-ЯёЁ]", paragraph))
    latin = len(re.findall(r"[A-Za-z]", paragraph))
    if han * 2 >= max(cyrillic, latin, 1):
        return "zh"
    return "ru" if cyrillic >= latin else "en"


def load_corpus(directory: Path = DATA) -> Corpus:
    """The seeds, read with censorwatch's extractors. Raises FileNotFoundError when missing."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is missing: the bench grows its documents from the real ones there "
                                "(../shared/data/documents, see its PROVENANCE.md)")
    heads: dict[str, list[list[str]]] = {name: [] for name in FAMILIES}
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.name == "PROVENANCE.md":
            continue
        found = extract(path.read_bytes(), path.name)
        text = "\n".join(part.text for part in found.parts)
        if found.kind == "email":
            heads["rkn_email"].append(_paragraphs(text))
        elif path.suffix == ".rtf" or "notification" in path.name:
            paragraphs = _paragraphs(text)
            english = next((i for i, p in enumerate(paragraphs) if p == "Notice"), len(paragraphs))
            heads["rkn_notice"].append(paragraphs)
            if english < len(paragraphs):
                heads["en_notice"].append(paragraphs[english:])
        elif "court" in path.name:
            heads["ru_court"].extend(_paragraphs(section) for section in _sections(text))
        elif "149-FZ" in path.name:
            heads["ru_law"].extend(_paragraphs(section) for section in _sections(text))
        elif path.name.startswith("ru_"):
            heads["ru_law"].append(_paragraphs(text))
        elif path.name.startswith("zh_"):
            heads["zh_law"].append([p.lstrip("# ") for p in _paragraphs(text) if not p.startswith("<!--")])
        elif path.name.startswith("en_"):
            heads["en_notice"].append(_paragraphs(text))
    missing = [name for name, found_heads in heads.items() if not found_heads]
    if missing:
        raise FileNotFoundError(f"{directory} holds no seed for {', '.join(missing)}")
    pools: dict[str, list[str]] = {"ru": [], "zh": [], "en": []}
    for documents in heads.values():
        for paragraphs in documents:
            for paragraph in paragraphs:
                pools[_language(paragraph)].append(paragraph)
    words = sorted({w.lower() for p in pools["ru"] for w in re.findall(r"[А-Яа-яЁё]{5,}", p)})
    return Corpus(heads, pools, words)


class _Slots:
    """The made-up values of one document: the same record, URL or court wherever it recurs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.record = f"{rng.randrange(100_000, 1_000_000)}-РИ"
        self.eais = f"eais#{rng.randrange(100_000, 2_000_000)}"
        self.day = date(2012, 1, 1) + timedelta(days=rng.randrange(4_800))
        self.ip = self._ip()
        self.domain = self._domain()
        self.url = self._url()
        district, district_en = rng.choice(_DISTRICTS)
        city, region, city_en, region_en = rng.choice(_CITIES)
        self.court_ru = f"({district} районный суд г. {city} - {region})"
        self.court_en = f"({district_en} district court of {city_en} - {region_en})"
        year = self.day.year
        self.case = (f"2а-{rng.randrange(1, 9_999)}/{year}" if rng.random() < 0.6
                     else f"2-{rng.randrange(1, 9_999)}/{year % 100:02d}")

    def _ip(self) -> str:
        rng = self.rng
        return f"{rng.randrange(5, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    def _domain(self) -> str:
        rng = self.rng
        if rng.random() < 0.05:
            name = "".join(rng.choice(_RU_SYLLABLES) for _ in range(rng.randrange(2, 5)))
            return f"{name}.рф"
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randrange(2, 5)))
        prefix = rng.choice(["", "", "", "www.", "forum.", "m."])
        return f"{prefix}{name}{rng.randrange(100) if rng.random() < 0.3 else ''}.{rng.choice(_TLDS)}"

    def _url(self) -> str:
        rng = self.rng
        host = self.ip if rng.random() < 0.05 else self.domain
        path = rng.choice([
            f"/node/{rng.randrange(1, 99_999)}", f"/l/z_{rng.randrange(1, 9_999)}.txt",
            f"/{rng.choice(_SYLLABLES)}/{rng.randrange(1, 99_999)}.html", f"/?p={rng.randrange(1, 9_999)}",
            f"/{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}",
        ])
        return f"{rng.choice(['http', 'https'])}://{host}{path}"

    def date_text(self) -> str:
        day = self.day + timedelta(days=self.rng.randrange(-400, 400))
        return day.strftime("%d.%m.%Y")

    def surname(self) -> str:
        stem = "".join(self.rng.choice(_RU_SYLLABLES) for _ in range(self.rng.randrange(2, 4)))
        return stem.capitalize() + self.rng.choice(_SURNAME_ENDS)

    def ru_date(self) -> str:
        day = self.day + timedelta(days=self.rng.randrange(-60, 60))
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"

    def zh_date(self) -> str:
        day = self.day + timedelta(days=self.rng.randrange(-900, 900))
        return f"{day.year}年{day.month}月{day.day}日"


def _vary(text: str, slots: _Slots, corpus: Corpus) -> str:
    rng = slots.rng
    text = _RECORD.sub(slots.record, text)
    text = _EAIS.sub(slots.eais, text)
    text = _URL.sub(lambda _: slots.url if rng.random() < 0.8 else slots._url(), text)
    text = _SEED_DOMAIN.sub(slots.domain, text)
    text = _CASE.sub(slots.case, text)
    text = _MATERIAL.sub(lambda _: f"М-{rng.randrange(1, 9_999)}/{slots.day.year}", text)
    text = _DATE.sub(lambda m: m.group() if m.group() in _LAW_DATES else slots.date_text(), text)
    text = _RU_DATE.sub(lambda m: m.group() if m.group() in _LAW_DATES else slots.ru_date(), text)
    text = _ZH_DATE.sub(lambda _: slots.zh_date(), text)
    text = _COURT_RU.sub(slots.court_ru, text)
    text = _COURT_EN.sub(slots.court_en, text)
    text = _IP.sub(lambda _: slots.ip, text)
    text = _JUDGE.sub(lambda _: f"{slots.surname()} {rng.choice('АВГДЕИКЛМНОПРСТ')}.{rng.choice('АВГДИМНОПС')}.", text)
    text = _TWEET.sub(lambda _: str(rng.randrange(10**9, 10**12)), text)
    text = _NOTICE_ID.sub(lambda _: f"{rng.randrange(1_000_000, 9_999_999)},", text)
    return _DESCRIPTION.sub(lambda m: m.group(1) + _description(slots, corpus), text)


def _description(slots: _Slots, corpus: Corpus) -> str:
    rng = slots.rng
    words = " ".join(rng.choice(corpus.words_ru) for _ in range(rng.randrange(2, 6)))
    what = rng.choice(["текст песни", "видеоматериал", "статья", "изображение", "книга", "аудиозапись"])
    verdict = rng.choice(["признанный экстремистским", "признанная экстремистской",
                          "содержащий призывы к массовым беспорядкам", "запрещенный решением суда"])
    return f"Размещен {what} «{slots.surname()} – {words.capitalize()}», {verdict}."


def _shuffled(paragraph: str, rng: random.Random) -> str:
    sentences = [s for s in _SENTENCE.split(paragraph) if s]
    if len(sentences) < 3:
        return paragraph
    if rng.random() < 0.5:
        sentences.pop(rng.randrange(len(sentences)))
    rng.shuffle(sentences)
    glue = "" if _language(paragraph) == "zh" else " "
    return glue.join(sentences)


def _body(family: str, corpus: Corpus, rng: random.Random, target: int) -> list[str]:
    _, _, language, _, kept = FAMILIES[family]
    head = rng.choice(corpus.heads[family])
    chosen = list(head[:kept])
    for paragraph in head[kept:]:
        if rng.random() < 0.8:
            chosen.append(_shuffled(paragraph, rng) if rng.random() < 0.3 else paragraph)
    size = sum(len(p.encode("utf-8")) + 1 for p in chosen)
    while size > target and len(chosen) > kept:
        size -= len(chosen.pop(rng.randrange(kept, len(chosen))).encode("utf-8")) + 1
    pool = corpus.pools[language]
    while size < target:
        paragraph = rng.choice(pool)
        paragraph = _shuffled(paragraph, rng) if rng.random() < 0.3 else paragraph
        chosen.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 1
    return chosen


def generate(number: int, corpus: Corpus, seed: int = 1) -> GeneratedDocument:
    """Document `number` of the run seeded `seed`: the same wherever and whenever it is built."""
    rng = random.Random(seed * 1_000_003 + number)
    family = rng.choices(_NAMES, _WEIGHTS)[0]
    collection, _, language, suffix, _ = FAMILIES[family]
    target = int(math.exp(rng.uniform(math.log(MIN_BYTES), math.log(MAX_BYTES))))
    slots = _Slots(rng)
    text = _vary("\n".join(_body(family, corpus, rng, target)), slots, corpus)
    name = f"{number:08d}_{family}{suffix}"
    if family == "zh_law":
        text = f"发布日期：{slots.zh_date()}　来源：{slots.url}\n{text}"
    if family != "rkn_email":
        return GeneratedDocument(number, family, collection, language, name, None, None, text)
    sent = datetime.combine(slots.day, datetime.min.time()) + timedelta(seconds=rng.randrange(86_400))
    headers = (
        ("Received", f"from mx1.rkn.gov.ru ([{slots._ip()}]:55820) by mail.{slots.domain} with esmtps"),
        ("Date", format_datetime(sent)),
        ("From", "Роскомнадзор <zapret-info-out@rkn.gov.ru>"),
        ("To", f"<abuse@{slots.domain}>"),
        ("Subject", f"[{slots.eais}] Роскомнадзор информирует/the Roscomnadzor is informing"),
    )
    return GeneratedDocument(number, family, collection, language, name, headers[-1][1], sent, text, headers)


def _rtf_escape(text: str) -> str:
    out = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif ord(char) < 128:
            out.append(char)
        else:
            try:
                out.append(f"\\'{char.encode('cp1251')[0]:02x}")
            except UnicodeEncodeError:
                code = ord(char)
                out.append(f"\\u{code - 65536 if code > 32767 else code}?")
    return "".join(out)


def file_bytes(document: GeneratedDocument) -> bytes:
    """The document as the file a user would add: RTF (cp1251 escapes, as Roskomnadzor's are),
    an RFC 822 e-mail with raw 8-bit headers (as the real ones were saved), or UTF-8 text."""
    if document.name.endswith(".rtf"):
        header = r"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0\froman\fcharset204 Times New Roman;}}\f0\fs24 "
        body = "".join(_rtf_escape(line) + "\\par\n" for line in document.text.split("\n"))
        return (header + body + "}").encode("ascii")
    if document.name.endswith(".eml"):
        head = "".join(f"{key}: {value}\n" for key, value in document.headers)
        return (head + "\n" + document.text + "\n").encode("utf-8")
    return document.text.encode("utf-8")


class TreePeak:
    """Peak RSS of a process and its descendants, summed, sampled every half second (ru_maxrss
    sees one process at a time): the bench's phases and the build's worker pool."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            root = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._stop.wait(0.5):
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak
