"""References to the legal machinery of blocking: register records, prosecutors' decisions, court
cases and laws, each with one written form for every way documents spell it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from censorwatch.archive.model import Entity

DASHES = "-‐‑‒–—−"
_DASH = f"[{DASHES}]"
_DASH_TABLE = str.maketrans(dict.fromkeys(DASHES[1:], "-"))
# Latin look-alikes typed for Cyrillic letters in identifiers ("2a-507/2018", "451555-PИ").
_CYRILLIC = str.maketrans("AaM", "АаМ")

_RECORDS = (
    # 451555-РИ: an entry of the register of information prohibited in Russia (149-FZ art. 15.1).
    re.compile(rf"(?<![\w-])(?P<number>\d{{1,9}})\s?{_DASH}\s?(?P<suffix>РИ|RI|PИ)(?!\w)"),
    # [eais#560867]: the number of Roskomnadzor's EAIS message in an e-mail subject; another
    # series than register records (the Tver notice's record is 451555-РИ, its e-mail eais#560867).
    re.compile(r"(?<!\w)eais\s?#\s?(?P<number>\d{1,10})(?!\d)", re.IGNORECASE),
)
_DECISIONS = (
    # 27-31-2015/Ид1093-15: a Prosecutor General's Office decision (department-section-year/series).
    re.compile(
        rf"(?<![\w/-])\d{{1,3}}{_DASH}\d{{1,3}}{_DASH}\d{{4}}/[A-Za-zА-Яа-яЁё]{{1,4}}\d{{1,7}}{_DASH}\d{{2}}(?!\w)"
    ),
    # 2-6-27/2016-02-03-20-АИ, 2-6-18/2022: Federal Tax Service decisions as the register cites them.
    re.compile(
        rf"(?<![\w/-])\d{{1,2}}{_DASH}\d{{1,2}}{_DASH}\d{{1,3}}/ ?\d{{4}}"
        rf"(?:{_DASH}\d{{2}}{_DASH}\d{{2}}{_DASH}\d{{1,4}}{_DASH}[А-ЯЁ]{{1,3}})?(?![\w/])"
    ),
)
_CASES = (
    # 2-1066/2016, 2а-507/2018 (administrative), М-1833/2021 (material), 2-4180/07 (older years).
    re.compile(
        rf"(?<![{DASHES}\w/.])(?P<prefix>\d{{1,2}}[аАaA]?|[МM][аАaA]?){_DASH}(?P<rest>\d{{1,7}}/(?:\d{{4}}|\d{{2}}))(?![\w/])"
    ),
    # А40-123456/2020: a commercial (arbitrazh) court case, court number after the letter.
    re.compile(rf"(?<![\w/])(?P<prefix>[АA]\d{{2}}){_DASH}(?P<rest>\d{{1,7}}/(?:\d{{4}}|\d{{2}}))(?![\w/])"),
)

_LAW_NUMBER = re.compile(
    rf"(?<![\w-])(?:(?:№|N|No\.?)\s*)?(?P<number>\d{{1,4}})\s?{_DASH}\s?(?P<kind>ФКЗ|ФЗ|FKZ|FZ)(?!\w)",
    re.IGNORECASE,
)
# A short title must follow "закон" or an opening quote: "О связи" alone is ordinary prose.
_TITLED = r"(?:закон\w*\s+(?:[«\"“„]\s*)?|[«\"“„]\s*)"
# (a word every mention holds, in lower case: the pattern only runs where it occurs; pattern; value)
_NAMED_LAWS = (
    ("технологиях",
     r"Об\s+информации,\s+информационных\s+технологиях\s+и\s+(?:о\s+)?защите\s+информации", "149-ФЗ"),
    ("связи", _TITLED + r"О\s+связи(?!\w)", "126-ФЗ"),
    ("детей",
     r"О\s+защите\s+детей\s+от\s+информации,\s+причиняющей\s+вред\s+их\s+здоровью\s+и\s+развитию", "436-ФЗ"),
    ("экстремистской", _TITLED + r"О\s+противодействии\s+экстремистской\s+деятельности", "114-ФЗ"),
    ("терроризму", _TITLED + r"О\s+противодействии\s+терроризму", "35-ФЗ"),
    ("персональных", _TITLED + r"О\s+персональных\s+данных", "152-ФЗ"),
    ("dmca", r"\bDMCA\b", "DMCA"),
    ("millennium", r"Digital\s+Millennium\s+Copyright\s+Act", "DMCA"),
)
_PRC = "中华人民共和国"
_CHINESE_LAWS = (
    ("网络安全法", _PRC), ("数据安全法", _PRC), ("个人信息保护法", _PRC), ("国家安全法", _PRC),
    ("反恐怖主义法", _PRC), ("治安管理处罚法", _PRC), ("电信条例", _PRC),
    ("互联网信息服务管理办法", ""), ("计算机信息网络国际联网安全保护管理办法", ""),
    ("互联网新闻信息服务管理规定", ""), ("网络信息内容生态治理规定", ""),
)
_LAWS_BY_NAME = tuple(
    (needle, re.compile(pattern, re.IGNORECASE), value) for needle, pattern, value in _NAMED_LAWS
) + tuple((name, re.compile(f"(?:{_PRC})?{re.escape(name)}"), prefix + name) for name, prefix in _CHINESE_LAWS)


def normalise_dashes(text: str) -> str:
    return text.translate(_DASH_TABLE)


def find_records(text: str) -> Iterator[Entity]:
    if not any(needle in text for needle in ("РИ", "RI", "PИ", "eais", "EAIS", "Eais")):
        return
    for pattern in _RECORDS:
        for match in pattern.finditer(text):
            value = f"{match['number']}-РИ" if "suffix" in pattern.groupindex else f"eais#{match['number']}"
            yield Entity("record", value, match.group(), match.start(), match.end())


def find_decisions(text: str) -> Iterator[Entity]:
    if "/" not in text:
        return
    for pattern in _DECISIONS:
        for match in pattern.finditer(text):
            value = normalise_dashes(match.group()).replace("/ ", "/")
            yield Entity("decision", value, match.group(), match.start(), match.end())


def find_cases(text: str) -> Iterator[Entity]:
    if "/" not in text:
        return
    for pattern in _CASES:
        for match in pattern.finditer(text):
            prefix = match["prefix"].translate(_CYRILLIC)
            # The letter after a number marks the procedure (2а: administrative) and courts write
            # it in either case; the initial М of a material number and А of arbitrazh are capitals.
            prefix = prefix[0].upper() + prefix[1:].lower() if not prefix[0].isdigit() else prefix.lower()
            yield Entity("case", f"{prefix}-{match['rest']}", match.group(), match.start(), match.end())


def find_laws(text: str) -> Iterator[Entity]:
    lowered = text.lower()
    if "фз" in lowered or "fz" in lowered or "фкз" in lowered or "fkz" in lowered:
        for match in _LAW_NUMBER.finditer(text):
            kind = "ФКЗ" if match["kind"].upper() in ("ФКЗ", "FKZ") else "ФЗ"
            yield Entity("law", f"{int(match['number'])}-{kind}", match.group(), match.start(), match.end())
    for needle, pattern, value in _LAWS_BY_NAME:
        if needle in lowered:
            for match in pattern.finditer(text):
                yield Entity("law", value, match.group(), match.start(), match.end())
