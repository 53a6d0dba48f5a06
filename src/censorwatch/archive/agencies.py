"""Bodies that order, request or carry out blocking: federal agencies by their names, short names
and Russian case forms; prosecutors' offices of regions; courts by name. Values are stable names
(`Roskomnadzor`, `CAC`) for agencies, and the name in the nominative for offices and courts."""

from __future__ import annotations

import re
from collections.abc import Iterator

from censorwatch.archive.model import Entity

_W = r"\s+"  # names break across lines in PDFs and RTFs
# (pattern, value, words in lower case one of which every match holds: the pattern only runs
# on texts with one of them, which spares most texts most of the patterns)
_BODIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (r"(?i:роскомнадзор\w*|roskomnadzor\w*|roscomnadzor\w*)|(?<!\w)(?:РКН|RKN)(?!\w)", "Roskomnadzor",
     ("роскомнадзор", "roskomnadzor", "roscomnadzor", "ркн", "rkn")),
    (rf"(?i:федеральн\w+{_W}служб\w+{_W}по{_W}надзору{_W}в{_W}сфере{_W}связи,{_W}информационных{_W}технологий"
     rf"{_W}и{_W}массовых{_W}коммуникаций)", "Roskomnadzor", ("надзору",)),
    (rf"(?i:federal{_W}service{_W}for{_W}supervision{_W}(?:in{_W}the{_W}sphere{_W}of|of){_W}"
     rf"(?:telecom|communications)\w*,{_W}information{_W}technolog\w+{_W}and{_W}mass{_W}communications?)",
     "Roskomnadzor", ("supervision",)),
    (rf"(?i:генпрокуратур\w*|генпрокурор\w*|генеральн\w+{_W}прокуратур\w+|генеральн\w+{_W}прокурор\w*)"
     rf"(?:{_W}(?:Российской{_W}Федерации|РФ)(?!\w))?|(?i:prosecutor{_W}general'?s{_W}office)",
     "Prosecutor General's Office", ("генпрокур", "генеральн", "prosecutor")),
    (r"(?<!\w)ФНС(?!\w)|(?i:федеральн\w+\s+налогов\w+\s+служб\w+)", "FNS", ("фнс", "налогов")),
    (r"(?<!\w)МВД(?!\w)|(?i:министерств\w+\s+внутренних\s+дел)", "MVD", ("мвд", "внутренних")),
    (r"(?<!\w)ФСБ(?!\w)|(?i:федеральн\w+\s+служб\w+\s+безопасности)", "FSB", ("фсб", "безопасности")),
    (r"(?i:минцифры)|(?i:министерств\w+\s+цифрового\s+развития,\s+связи\s+и\s+массовых\s+коммуникаций)",
     "Mintsifry", ("минцифры", "цифрового")),
    (r"(?i:минкомсвяз\w*)", "Minkomsvyaz", ("минкомсвяз",)),
    (r"(?i:роспотребнадзор\w*)", "Rospotrebnadzor", ("роспотребнадзор",)),
    (r"(?i:минюст\w*)|(?i:министерств\w+\s+юстиции)", "Minjust", ("минюст", "юстиции")),
    (r"(?<!\w)ФСКН(?!\w)", "FSKN", ("фскн",)),
    (r"国家互联网信息办公室|国家网信办|国家网信部门|网信部门|网信办|(?<!\w)CAC(?!\w)"
     r"|(?i:cyberspace\s+administration\s+of\s+china)", "CAC", ("网信", "cac", "cyberspace")),
    (r"工业和信息化部|工信部|(?<!\w)MIIT(?!\w)|(?i:ministry\s+of\s+industry\s+and\s+information\s+technology)",
     "MIIT", ("工业和信息化部", "工信部", "miit", "ministry of industry")),
    (r"公安部|(?i:ministry\s+of\s+public\s+security)", "MPS", ("公安部", "public security")),
)
_AGENCIES = tuple((re.compile(pattern), value, needles) for pattern, value, needles in _BODIES)

# Courts: [proper adjective] type adjective(s) "суд" [place in the genitive], in any case.
_COURT_TYPES = {
    "районн": "ый", "городск": "ой", "областн": "ой", "краев": "ой", "верховн": "ый", "арбитражн": "ый",
    "межрайонн": "ый", "гарнизонн": "ый", "военн": "ый", "окружн": "ой", "кассационн": "ый",
    "апелляционн": "ый", "конституционн": "ый",
}
_CASE_ENDINGS = {"nom": ("ий", "ый", "ой"), "gen": ("ого", "его"), "dat": ("ому", "ему"),
                 "ins": ("ым", "им"), "pre": ("ом", "ем")}
# Proper names whose nominative ends in a stressed -ой: Тверского -> Тверской, not Тверский.
_STRESSED = frozenset({"тверск", "донск", "полевск", "морск"})
_TYPE = "(?i:" + "|".join(_COURT_TYPES) + r")[а-я]{1,3}"
_PROPER = r"[А-ЯЁ][а-яё]+(?:-[а-яёА-ЯЁ]+)*"
_REGION = (
    rf"(?:{_PROPER}\s+){{1,3}}(?:района|области|края|округа|республики|Республики)"
    rf"|(?:г\.|города)\s*{_PROPER}|Республики\s+{_PROPER}"
)
_COURT = re.compile(
    rf"(?:(?P<proper>{_PROPER})\s+)?(?P<types>(?:{_TYPE}\s+){{1,3}})(?P<head>[Сс]уд(?:а|у|ом|е)?)(?!\w)"
    rf"(?P<place>(?:\s+(?:{_REGION}|Российской\s+Федерации))*)"
)
_ENGLISH_COURT = re.compile(
    r"(?<!\w)(?!The\b|A\b|In\b|Of\b)(?P<name>[A-Z][a-z]+(?:-[a-z]+-[A-Z][a-z]+)?\s+"
    r"(?:district|city|regional|municipal|arbitration|garrison\s+military|military)\s+court"
    r"(?:\s+of\s+[A-Z][a-z]+(?:-[a-z]+-[A-Z][a-z]+)?)?)"
)
_PROSECUTOR = re.compile(
    rf"(?<!\w)[Пп]рокур(?:атур(?:а|ы|е|у|ой)|ор(?:а|у|ом|е)?)(?!\w)(?P<place>(?:\s+(?:{_REGION}))+)"
)


def _grammatical_case(word: str) -> str | None:
    lowered = word.lower()
    for case in ("gen", "dat", "nom", "ins", "pre"):  # longest endings first
        if lowered.endswith(_CASE_ENDINGS[case]):
            return case
    return None


def _nominative(word: str, case: str, stem_hint: str | None = None) -> str:
    ending = next(end for end in _CASE_ENDINGS[case] if word.lower().endswith(end))
    stem = word[: len(word) - len(ending)]
    if stem_hint is not None:
        return stem + stem_hint
    if stem.lower() in _STRESSED:
        return stem + "ой"
    soft = ending in ("его", "ему", "им", "ем") and not stem.lower().endswith(("ск", "цк"))
    return stem + ("ий" if soft or stem[-1:].lower() in "гкхжшчщ" else "ый")


def _court_name(match: re.Match[str]) -> tuple[str, int] | None:
    """The court's name in the nominative and where its mention starts, or None for a kind of
    court ("в районный суд") rather than a court."""
    types = match["types"].split()
    case = _grammatical_case(types[0])
    if case is None:
        return None
    words = []
    start = match.start("types")
    if match["proper"]:
        head, _, tail = match["proper"].partition("-")
        # The proper adjective agrees with the type adjective; if it does not, it is another word
        # ("Решением районного суда"), and the court is named by its type alone.
        if _grammatical_case(head) == case:
            words.append((head if case == "nom" else _nominative(head, case)) + ("-" + tail if tail else ""))
            start = match.start("proper")
    for word in types:
        stem = next((stem for stem in _COURT_TYPES if word.lower().startswith(stem)), None)
        if stem is None or _grammatical_case(word) is None:
            return None
        words.append(word if case == "nom" else word[: len(stem)] + _COURT_TYPES[stem])
    if not words[0][0].isupper():
        return None
    words.append(match["head"][:3])
    return " ".join(words + match["place"].split()), start


def _windows(lowered: str, word: str, before: int, after: int) -> Iterator[tuple[int, int]]:
    """Stretches around each occurrence of `word`, overlapping ones merged: the slow patterns for
    courts and prosecutors run on these instead of the whole text."""
    start = end = -1
    position = lowered.find(word)
    while position >= 0:
        low, high = max(0, position - before), min(len(lowered), position + after)
        if low > end:
            if end > start:
                yield start, end
            start = low
        end = high
        position = lowered.find(word, position + 1)
    if end > start:
        yield start, end


def _matches(pattern: re.Pattern[str], text: str, lowered: str, word: str) -> Iterator[re.Match[str]]:
    for low, high in _windows(lowered, word, 150, 250):
        yield from pattern.finditer(text, low, high)


def find_agencies(text: str) -> Iterator[Entity]:
    lowered = text.lower()
    for pattern, value, needles in _AGENCIES:
        if any(needle in lowered for needle in needles):
            for match in pattern.finditer(text):
                yield Entity("agency", value, match.group(), match.start(), match.end())
    for match in _matches(_COURT, text, lowered, "суд"):
        found = _court_name(match)
        if found:
            name, start = found
            yield Entity("agency", name, text[start : match.end()], start, match.end())
    for match in _matches(_ENGLISH_COURT, text, lowered, "court"):
        yield Entity("agency", " ".join(match["name"].split()), match.group(), match.start(), match.end())
    for match in _matches(_PROSECUTOR, text, lowered, "прокур"):
        place = " ".join(match["place"].split())
        yield Entity("agency", f"Прокуратура {place}", match.group(), match.start(), match.end())
