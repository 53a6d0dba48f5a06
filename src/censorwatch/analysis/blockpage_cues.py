"""What blockpages that no fingerprint knows have in common: the cues blockpage_detector.py
looks for, each a regular expression or a literal of one kind (docs/verdicts.md, rule R22).

A page is scanned once by one Hyperscan database of all of them (body_scanner.py), which says
which cues matched; only those are run again with Python's `re`, on the rare pages that make a
statement, to check and quote them. One expression per cue rather than one alternation per kind:
Python's `re` takes milliseconds to try dozens of branches at every position of a page, and
microseconds for one. The expressions are written for both engines:
no look-around or back-references, `\\b` only next to ASCII letters, and case-insensitivity
only in `(?i:...)` groups of ASCII text; non-ASCII letters list their cases (Hyperscan folds
ASCII only). Cue texts come from real blockpages (shared/data/blockpages, OONI's and Censored
Planet's fingerprint texts) and from the laws and registers they cite; a cue alone decides
nothing, the detector weighs them (blockpage_detector.py)."""

from __future__ import annotations

from typing import Final

from censorwatch.analysis.body_scanner import LITERAL, REGEXP, Pattern

# Kinds of cue, in the order a reason lists them.
FRAME: Final = "frame"  # the page frames or redirects to a private address (Iran's 10.10.34.34)
STATEMENT: Final = "statement"  # "access to this resource is restricted", "Blocked URL", ...
WEAK_STATEMENT: Final = "weak statement"  # "the site has been blocked", "website is not accessible"
LEGAL: Final = "legal"  # a law, a court, a ministry, a register: the ground a blockpage cites
REGISTER: Final = "register"  # a register or blockpage host: eais.rkn.gov.ru, warning.rt.ru, ...


def _any(*branches: str) -> tuple[str, ...]:
    return branches


# Hosts of blocking registers and of blockpage servers. A link to one is a cue; a redirect to one
# decides (blockpage_detector.redirected_to_blockpage_host). Sources: the pages in
# shared/data/blockpages (rkn.gov.ru, warning.rt.ru, subblock.mts.ru, t2rkn.com, peyvandha.ir,
# internet.gov.sa, tib.gov.tr, guvenlinet.org, ihbarweb.org.tr, kocsc.or.kr, tra.gov.ae), OONI's
# and Censored Planet's fingerprints (blocked.mts.ru, zapret-info.gov.ru, warning.or.kr,
# trustpositif) and the TrustPositif redirect in shared/data/ooni (aduankonten.id).
BLOCKPAGE_DOMAINS: Final = (
    "rkn.gov.ru",  # eais., blocklist., nap., 398-fz., 97-fz.: Roskomnadzor's registers
    "zapret-info.gov.ru",  # the register's first site (2012-2017)
    "warning.rt.ru",  # Rostelecom
    "subblock.mts.ru",
    "blocked.mts.ru",
    "t2rkn.com",  # Tele2 Russia
    "peyvandha.ir",
    "internet.gov.sa",
    "tib.gov.tr",
    "btk.gov.tr",
    "guvenlinet.org",
    "ihbarweb.org.tr",
    "warning.or.kr",
    "kocsc.or.kr",
    "tra.gov.ae",
    "aduankonten.id",
    "trustpositif.kominfo.go.id",
)
PRIVATE_PREFIX = r"(?:10\.|127\.|192\.168\.|172\.(?:1[6-9]|2[0-9]|3[01])\.)"

_FRAME = _any(
    rf"(?i:<i?frame[^>]*src\s*=\s*[\"']?(?:https?:)?//{PRIVATE_PREFIX})",
    rf"(?i:http-equiv\s*=\s*[\"']?refresh[^>]*url\s*=\s*[\"']?(?:https?:)?//{PRIVATE_PREFIX})",
    rf"(?i:location(?:\.href)?\s*=\s*[\"'](?:https?:)?//{PRIVATE_PREFIX})",
)

# "Доступ ... ограничен": the noun in the nominative and the participle agreeing with it, so the register's formula
# ("ограничения доступа к сайту ..., распространение которой ... запрещено") is not a blockpage's statement.
_RU_ACCESS = r"(?:[Дд]оступ|ДОСТУП)[\s,:]"
_RU_CLOSED = (
    "(?:ограничен|заблокирован|закрыт|запрещ[её]н|приостановлен|ОГРАНИЧЕН|ЗАБЛОКИРОВАН|ЗАКРЫТ|ЗАПРЕЩ[ЕЁ]Н)[^а-яёА-ЯЁ]"
)
_EN_THING = r"(?:web\s*site|site|web\s*page|page|url|domain|resource|content)s?"
_EN_WHY = (
    r"(?:as\s+per|by|on\s+the\s+basis|under|in\s+accordance|pursuant|due\s+to|according|following|because|"
    r"to\s+protect|for\s+your)"
)
_FA_YE = "[یيۍ]"
# Within one sentence of one text node: unbounded, so the Hyperscan database stays small (bounded repeats of
# UTF-8 classes made it 3 MB and 3 s to compile), and no statement reaches across a tag or a full stop.
_SENTENCE = r"(?:[^<>.!?。！？؟]|\.[^\s<>])*"  # a dot before no space (pastebin.com) ends nothing

_STATEMENT = _any(
    # Russian: "Доступ к информационному ресурсу ограничен", "Ресурс заблокирован"
    rf"{_RU_ACCESS}(?:[^<>.!?]|\.[^\s<>]|<br\s*/?>)*{_RU_CLOSED}",
    rf"(?:[Рр]есурс|[Сс]айт|[Сс]траниц[аы]|[Дд]омен|[Мм]атериал|[Зз]апрос|РЕСУРС|САЙТ|СТРАНИЦА){_SENTENCE}"
    r"(?:(?:за)?блокирован|ЗАБЛОКИРОВАН)",
    r"(?:внес[её]н|включ[её]н|ВНЕС[ЕЁ]Н|ВКЛЮЧ[ЕЁ]Н)\s+(?:в|В)\s+(?:[Ее]диный\s+|ЕДИНЫЙ\s+)?(?:[Рр]еестр|РЕЕСТР)",
    # Ukrainian: "Доступ ... обмежено", "ресурс заблоковано"
    rf"(?:[Дд]оступ|ДОСТУП|[Рр]есурс){_SENTENCE}(?:обмежено|заблоковано|ОБМЕЖЕНО|ЗАБЛОКОВАНО)",
    rf"[Вв]ідвідування{_SENTENCE}заборонено",
    # English
    rf"(?i:\baccess\s+to\s+(?:this\s+|the\s+|that\s+|your\s+)?(?:requested\s+)?(?:information\s+)?{_EN_THING}\b"
    rf"{_SENTENCE}\b(?:has\s+been|have\s+been|is|are|was)\s+(?:blocked|restricted|disabled|banned|prohibited|suspended)\b)",
    rf"(?i:\b(?:this|the|that|requested)\s+{_EN_THING}\b{_SENTENCE}\b(?:has\s+been|have\s+been|is|was)\s+"
    rf"(?:blocked|banned|censored|filtered)\s+{_EN_WHY})",
    r"(?i:\b(?:blocked\s+(?:url|site|website|web\s*page|page|domain|resource)|(?:url|site|website|web\s*page|page|domain|"
    r"resource)\s+(?:is\s+)?blocked|site\s+forbidden|forbidden\s+(?:web)?site|websites?\s+access\s*[-:–]+\s*blocked|"
    r"(?:web\s*site|site|page|url)\s+access\s+is\s+(?:restricted|blocked)|access\s+restricted\s+by)\b)",
    # "has been blocked by the decision dated", "blocked as per instructions from the Department of ..."
    r"(?i:\b(?:has\s+been|have\s+been|is|are|was|were)\s+blocked\s+(?:by|as\s+per|in\s+accordance\s+with|pursuant\s+to|under|following|on\s+the\s+basis\s+of)\s+"
    r"(?:the\s+|a\s+)?(?:decision|order|instructions?|directives?|court|law|ministry|authorit|regulations?)s?\b)",
    r"(?i:\b(?:ordered|forced|obliged)\s+(?:a\s+|the\s+)?(?:to\s+)?block(?:ing)?\b)",
    r"(?i:\bwe\s+(?:are\s+|have\s+)?block(?:ing|ed)\s+(?:this|the)\s+(?:[a-z]+\s+){0,2}(?:web\s*site|site|page|url|domain)\b)",
    # Chinese: "该网页已被阻断", "按照工信部33号令屏蔽访问"
    rf"(?:网站|网页|页面|站点|网址|域名|该站|此站){_SENTENCE}(?:已被|被|已经被){_SENTENCE}(?:屏蔽|封锁|封禁|封停|拦截|阻断|限制访问)",
    rf"(?:违反|依据|根据|按照){_SENTENCE}(?:规定|法规|法律|号令)[^<>]{{0,10}}(?:无法|不能|禁止|不予)访问",
    rf"(?:依法|依据|根据|按照|依照){_SENTENCE}(?:屏蔽|封锁|封禁|阻断|禁止访问|限制访问|不予显示)",
    r"(?:访问受限|非法阻断|屏蔽访问)",
    # Persian: "دسترسی به این وب‌سایت امکان‌پذیر نمی‌باشد" (Arabic and Persian letter forms both occur)
    rf"دسترس{_FA_YE}{_SENTENCE}(?:امکان|امكان)[^<>]{{0,3}}پذ{_FA_YE}ر[^<>]{{0,3}}(?:نم{_FA_YE}|ن{_FA_YE}ست)",
    rf"(?:ا{_FA_YE}ن)\s*(?:سا{_FA_YE}ت|وب[^<>]{{0,2}}سا{_FA_YE}ت|تارنما){_SENTENCE}(?:مسدود|ف{_FA_YE}لتر)",
    # Turkish: "Bu siteye erişim engellenmiştir", "bu internet sitesi hakkında verdiği karar"
    # (the dotted and cedilla letters are required: ASCII "erisim" is a CSS class on the TİB page)
    rf"(?:[Ee]rişim|ERİŞİM)[a-zçğıöşü]{{0,3}}[\s,;:]{_SENTENCE}(?:engel(?:len|i\b)|ENGEL(?:LEN|İ)|yasaklan|kısıtlan|durdurul)",
    rf"(?:[Bb]u|BU)\s+(?:[İi]nternet\s+|web\s+)?(?:site|sayfa){_SENTENCE}hakk[ıi]nda{_SENTENCE}(?:karar|tedbir)",
    # Arabic: "العنوان محجوب"
    r"(?:العنوان|الموقع|الصفحة|الرابط|محتوى|محتوای)\s*(?:محجوب|محظور|مسدود)",
    r"تم\s*(?:حجب|حظر)\s*(?:هذا|الموقع)",
    # Korean: "불법·유해정보사이트에 대한 차단 안내"
    r"차단\s*안내|차단된\s*(?:사이트|페이지)|접속이\s*차단",
    # Indonesian: "SITUS DIBLOKIR"
    rf"(?i:\b(?:situs|laman|halaman|akses)\b{_SENTENCE}\b(?:diblokir|di\s+blokir|terblokir|diblok)\b)",
)

_WEAK_STATEMENT = _any(
    rf"(?i:\b{_EN_THING}\b{_SENTENCE}\b(?:has\s+been|have\s+been|is|was)\s+(?:blocked|banned|censored|filtered)\b)",
    r"(?i:\b(?:web\s*site|site|url|content)\s+is\s+not\s+accessible\b)",
    r"(?i:\bthis\s+(?:web\s*site|site|domain)\s+has\s+been\s+blacklisted\b|\bit\s+has\s+(?:therefore\s+)?been\s+blocked\b)",
    r"(?i:\bcontains?\s+(?:prohibited|illegal|unlawful|banned)\s+(?:material|content|information)\b)",
    r"(?:[Ee]rişim|ERİŞİM)[a-zçğıöşü]{0,4}\s+sağlanam",
    r"(?i:\bkonten\s+(?:negatif|terlarang)\b)",
    rf"(?:مسدود|ف{_FA_YE}لتر)\s*(?:شده|گرد{_FA_YE}ده)",
    r"禁止访问|拒绝访问|已被(?:屏蔽|封锁|封禁|阻断)|包含敏感(?:关键)?(?:字词|词|信息|内容)",
)

# Laws that ground blocking in Russia: 149-FZ (information), 139-FZ (the register, 2012), 398-FZ
# (extremism, 2013), 436-FZ (children), 187-FZ (piracy), 97-FZ (bloggers), 242-FZ (data
# localisation), 276-FZ (anonymisers), 272-FZ, 114-FZ (extremism), 126-FZ (communications). Not
# 152-FZ: cookie banners cite it on ordinary pages.
_RU_LAWS = "(?:149|139|398|436|187|97|242|276|272|114|126)"

_LEGAL = _any(
    rf"{_RU_LAWS}(?:\s?-\s?|\s)(?:ФЗ|фз)",
    rf"распространение которой{_SENTENCE}запрещен",
    rf"(?i:\b{_RU_LAWS}-FZ\b)",
    r"Об информации, информационных технологиях",
    r"(?:[Фф]едеральн(?:ого|ым|ый|ому)|ФЕДЕРАЛЬН(?:ОГО|ЫМ|ЫЙ))\s+(?:закон|ЗАКОН)",
    r"(?:[Ее]дин(?:ый|ом|ого)|ЕДИН(?:ЫЙ|ОМ|ОГО))\s+(?:[Рр]еестр|РЕЕСТР)",
    r"(?:по|ПО)\s+(?:решению|РЕШЕНИЮ)\s+(?:суда|органов|[Гг]енерал|[Рр]оскомнадзор|[Мм]инистерств|уполномоченн|государственн)",
    r"на\s+основании\s+(?:решения|[Фф]едерального|[Зз]акона|требования|постановления|предписания|статьи)",
    r"в\s+соответствии\s+с\s+(?:[Фф]едеральн|законодательств|[Зз]акон|требовани|решени)",
    r"[Сс]огласно\s+(?:[Фф]едеральн|законодательств|[Зз]акон)",
    r"[Рр]оскомнадзор|РОСКОМНАДЗОР|[Гг]енеральн(?:ой|ая)\s+прокуратур|[Гг]енпрокуратур|[Мм]инистерства\s+информации",
    r"(?i:\bcompetent\s+authorit(?:y|ies)\b)",
    r"(?i:\b(?:court|judicial|prosecutor\S{0,2})\s+(?:order|decision|ruling)s?\b)",
    r"(?i:\b(?:by|on)\s+(?:the\s+)?(?:decision|order|orders|instructions?|directives?)\s+of\b)",
    r"(?i:\bas\s+per\s+(?:the\s+)?(?:instructions?|directives?|orders?|decisions?|law)\b)",
    r"(?i:\bministry\s+of\b|\bregulatory\s+(?:authority|policy)\b|\bfederal\s+law\b|\bpublic\s+authorities\b)",
    r"(?i:\bcriminal\s+court\b|\bprohibited\s+(?:for\s+viewership|under|by\s+law)\b)",
    r"(?i:\b(?:law|decision)\s+(?:no|nr|number)\.?\s*[0-9]+)",
    rf"(?:根据|依据|按照|依照){_SENTENCE}(?:法律|法规|规定|政策|号令|条例)",
    r"工信部|公安部|网信办|国家互联网信息办公室|通信管理局",
    rf"کم{_FA_YE}ته[^<>]{{0,10}}تع{_FA_YE}{_FA_YE}ن[^<>]{{0,10}}مصاد{_FA_YE}ق",
    rf"قانون[^<>]{{0,10}}جرا[یئ]م[^<>]{{0,5}}را{_FA_YE}انه",
    r"(?:مراجع|حکم|حكم|دستور)[^<>]{0,10}قضا[یئي]",
    r"[0-9]{4}\s+say[ıi]l[ıi]\s+(?:[Kk]anun|KANUN)",
    rf"(?:[Mm]ahkeme|MAHKEME|[Hh]akimli[ğg]i|[Bb]a[şs]savc[ıi]l[ıi][ğg][ıi]|CBS){_SENTENCE}(?:karar|KARAR)",
    r"(?:[Kk]oruma|KORUMA|[İIi]dari|İDARİ)\s+(?:[Tt]edbir|TEDB[İI]R)",
    r"Telekomünikasyon İletişim Başkanlığı|Bilgi Teknolojileri ve İletişim Kurumu",
    r"방송통신심의위원회",
    r"(?i:\bundang[-\s]undang\b|\bkominfo\b|\bkomdigi\b)",
)

_REGISTER = _any(
    r"(?i:internet[\s\-_]?positi(?:f|ve))",
    r"10\.10\.34\.3[456]",
)

# (kind, pattern), in the order blockpage_detector.py indexes them.
CUES: Final = (
    *((FRAME, Pattern(REGEXP, expression)) for expression in _FRAME),
    *((STATEMENT, Pattern(REGEXP, expression)) for expression in _STATEMENT),
    *((WEAK_STATEMENT, Pattern(REGEXP, expression)) for expression in _WEAK_STATEMENT),
    *((LEGAL, Pattern(REGEXP, expression)) for expression in _LEGAL),
    *((REGISTER, Pattern(LITERAL, domain)) for domain in BLOCKPAGE_DOMAINS),
    *((REGISTER, Pattern(REGEXP, expression)) for expression in _REGISTER),
)


def _cases(*words: str) -> tuple[str, ...]:
    return tuple(variant for word in words for variant in dict.fromkeys((word, word.capitalize(), word.upper())))


# Every statement and frame cue's match contains one of these literals (tests/unit/test_blockpage_detector.py checks
# it on every page that makes a statement). Without Hyperscan the cues' expressions run one by one in Python's `re`,
# a few milliseconds each on a large page; one Aho-Corasick pass for these first leaves most pages at that.
TRIGGERS: Final = (
    *_cases("ограничен", "заблок", "блокирован", "закрыт", "запрещ", "приостановлен", "обмежено", "заборонено"),
    "еестр", "ЕЕСТР",
    *_cases("blocked", "blocking", "restricted", "disabled", "banned", "prohibited", "suspended", "censored"),
    *_cases("filtered", "forbidden", "accessible", "blacklisted", "illegal", "unlawful", "ordered", "forced"),
    *_cases("obliged", "blokir", "diblok", "konten", "hakkında", "hakkinda"),
    "rişim", "RİŞİM",
    "屏蔽", "封锁", "封禁", "封停", "拦截", "阻断", "访问", "不予显示", "敏感",
    "دسترس", "مسدود", "فیلتر", "فيلتر", "فۍلتر", "محجوب", "محظور", "حجب", "حظر",
    "차단",
    "//10.", "//127.", "//192.168.", "//172.",
)  # fmt: skip

# A statement in the future, conditional or negated is about blocking, not a blockpage saying it blocks: "доступ к
# нему будет ограничен" (Roskomnadzor's letters), "доступ к которой должен быть ограничен" (the laws), "access will
# be blocked if ...". Checked with Python's `re` on the statements found, so look-arounds are fine here.
HEDGES: Final = (
    r"(?i)\b(?:will|would|may|might|must|should|shall|can|could|if)\b|"
    r"(?<!\w)(?:будет|будут|быть|может|могут|должен|должна|должно|должны|следует|вправе|если|не|буде)(?!\w)|"
    r"将|可能|如果|应当|خواهد|اگر"
)

# Words that make a page's title a blockpage's (matched with Python's `re` on the title only).
TITLE_WORDS: Final = (
    r"(?i)\bblock(?:ed|ing|\s*page)\b|\bbloqu|\bforbidden\b|\brestricted\b|\bcensor|заблок|ограничен|запрещ|ЗАБЛОК|ОГРАНИЧЕН|"
    r"ЗАПРЕЩ|заблоков|обмежен|محجوب|مسدود|فیلتر|屏蔽|封锁|阻断|拦截|禁止访问|차단|engellen|diblokir"
)
