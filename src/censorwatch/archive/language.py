"""Language of a text, of each part of a document, and of the whole document.

Script first, statistics second: the script of most letters settles Chinese, Japanese, Korean,
Greek and the like outright, and narrows py3langid to the languages written in that script for
Cyrillic, Latin and Arabic. Restricting the candidates is what makes langid reliable on the
short, formulaic texts of notices (unrestricted, "the Roscomnadzor is informing" comes out Dutch)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from censorwatch.archive.model import TextPart

UNDETERMINED = "und"

# Weighted letters below this say nothing; CJK characters weigh two (one carries a word or half).
_MIN_LETTERS = 3
# Below this many letters langid guesses; fall back on distinctive letters instead.
_MIN_STATISTICAL = 12
# Long texts are judged by three stretches (start, middle, end: the halves of a bilingual text
# are both seen), and langid by its first characters of the winning script: O(1) per part.
_STRETCH_CHARS = 2_000
_LANGID_CHARS = 1_000

_SCRIPTS: dict[str, re.Pattern[str]] = {
    "han": re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "kana": re.compile("[\u3040-\u30ff]"),
    "hangul": re.compile("[\uac00-\ud7af\u1100-\u11ff]"),
    "cyrillic": re.compile("[\u0400-\u04ff]"),
    "latin": re.compile("[A-Za-z\u00c0-\u024f]"),
    "arabic": re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]"),
    "greek": re.compile("[\u0370-\u03ff]"),
    "hebrew": re.compile("[\u0590-\u05ff]"),
    "thai": re.compile("[\u0e00-\u0e7f]"),
    "georgian": re.compile("[\u10a0-\u10ff]"),
    "armenian": re.compile("[\u0530-\u058f]"),
    "devanagari": re.compile("[\u0900-\u097f]"),
}
_WEIGHT = {"han": 2, "kana": 2, "hangul": 2}
_SINGLE_LANGUAGE = {"hangul": "ko", "greek": "el", "hebrew": "he", "thai": "th", "georgian": "ka",
                    "armenian": "hy", "devanagari": "hi"}

# Candidates per script, and a prior (log units) for the languages the archive mostly holds:
# on a near tie between Russian and Bulgarian, or English and Dutch, the likelier one wins.
_CANDIDATES = {
    "cyrillic": ("ru", "uk", "be", "bg", "kk", "sr", "mk", "ky", "tg", "mn", "tt", "ba"),
    "latin": ("en", "tr", "de", "fr", "es", "pt", "it", "nl", "pl", "cs", "sk", "ro", "hu", "sv", "da",
              "no", "fi", "vi", "id", "ms", "az", "uz", "tk", "et", "lv", "lt", "hr", "sl", "sq", "ca"),
    "arabic": ("fa", "ar", "ur", "ps", "ug", "ku"),
}
_PRIOR = {"ru": 4.0, "en": 4.0, "fa": 2.0, "tr": 1.0, "uk": 1.0}

# Letters only one language of a script uses: enough to name a short text.
_DISTINCTIVE = (
    (re.compile("[ўЎ]"), "be"),
    (re.compile("[ґҐєЄїЇ]"), "uk"),
    (re.compile("[әғқңөұүһӘҒҚҢӨҰҮҺ]"), "kk"),
    (re.compile("[پچژگ]"), "fa"),
)
_SHORT_DEFAULT = {"cyrillic": "ru"}


@cache
def _identifier() -> Any:
    # Loaded on first use: the model takes a few hundred milliseconds and most imports never detect.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


def _sample(text: str) -> str:
    if len(text) <= 3 * _STRETCH_CHARS:
        return text
    middle = (len(text) - _STRETCH_CHARS) // 2
    return "\n".join((text[:_STRETCH_CHARS], text[middle : middle + _STRETCH_CHARS], text[-_STRETCH_CHARS:]))


def _script_counts(sample: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for script, pattern in _SCRIPTS.items():
        found = len(pattern.findall(sample))
        if found:
            counts[script] = found * _WEIGHT.get(script, 1)
    return counts


@cache
def _other_scripts(script: str) -> re.Pattern[str]:
    return re.compile("|".join(pattern.pattern for name, pattern in _SCRIPTS.items() if name != script))


def _statistical(sample: str, script: str) -> str:
    # Only the dominant script's letters go to langid: the Cyrillic half of a bilingual notice
    # would otherwise pull its English half towards Uzbek, a Latin language with Cyrillic n-grams.
    sample = " ".join(_other_scripts(script).sub(" ", sample).split())[:_LANGID_CHARS]
    candidates = _CANDIDATES[script]
    ranked = _identifier().rank(sample)
    scores = {language: score + _PRIOR.get(language, 0.0) for language, score in ranked if language in candidates}
    return max(scores, key=lambda language: scores[language]) if scores else UNDETERMINED


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, "und" when there is too little text to tell."""
    sample = _sample(text)
    counts = _script_counts(sample)
    total = sum(counts.values())
    if total < _MIN_LETTERS:
        return UNDETERMINED
    script, letters = counts.most_common(1)[0]
    if script == "han" or script == "kana":
        # Japanese writes kana between its kanji; Chinese never does.
        return "ja" if counts["kana"] * 5 > counts["han"] else "zh"
    if script in _SINGLE_LANGUAGE:
        return _SINGLE_LANGUAGE[script]
    if letters >= _MIN_STATISTICAL:
        return _statistical(sample, script)
    for pattern, language in _DISTINCTIVE:
        if language in _CANDIDATES[script] and pattern.search(sample):
            return language
    return _SHORT_DEFAULT.get(script, UNDETERMINED)


def with_languages(parts: Sequence[TextPart]) -> tuple[TextPart, ...]:
    """The parts with `language` filled in where the extractor left it empty. A part in two
    languages gets the one of most of its letters; the index reads every part in every language's
    fields, so the minority half is found all the same."""
    return tuple(part if part.language else replace(part, language=detect_language(part.text)) for part in parts)


def document_language(parts: Sequence[TextPart]) -> str:
    """The language of most of the document's text (parts weighed by length), "und" if none."""
    weights: Counter[str] = Counter()
    for part in parts:
        language = part.language or detect_language(part.text)
        if language != UNDETERMINED:
            weights[language] += len(part.text.strip())
    return weights.most_common(1)[0][0] if weights else UNDETERMINED
