"""Is a dotted word a domain name? A top-level-domain check that tells `eais.rkn.gov.ru` from
`notification.rtf`, `ст.15.1` and `г.Твери` without the public suffix list (no network, no data file)."""

from __future__ import annotations

import re

from censorwatch.model.registry import NormaliseError, normalise_domain


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Every delegated two-letter country code TLD (IANA root zone), including su, uk, eu and ac.
_COUNTRY = _names(
    """ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo bq br bs bt
    bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et
    eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il
    im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma
    mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om
    pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr
    ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi
    vn vu wf ws ye yt za zm zw"""
)
# Generic TLDs that blocked sites and the bodies blocking them actually use; `zip` and `mov`
# are left out on purpose: as file names they are far likelier than as domains.
_GENERIC = _names(
    """com net org info biz name pro edu gov mil int mobi aero asia cat coop jobs museum tel travel xxx
    app dev page blog shop store online site website space tech top xyz club live news media world today
    life link click press cloud email digital network agency company services solutions center group team
    art design studio love wiki help support global work works host hosting download stream lol moe ltd
    inc llc academy education school science health church social video radio film movie music game games
    chat zone porn sex adult bet casino poker win vip fun icu buzz monster rocks ninja guru one plus best
    market money finance bank capital fund energy community foundation ngo ong report review reviews
    moscow tatar yandex google amazon apple microsoft onion"""
)
_INTERNATIONAL = _names(
    """рф рус укр бел срб мкд қаз мон бг ею дети москва онлайн сайт орг ком католик
    中国 中國 公司 网络 网址 在线 香港 台湾 台灣 新加坡 移动 商城 集团 手机 网店 政务 公益"""
)
# Two-letter country TLDs that are also common file extensions: a single name before them
# (`readme.md`, `setup.py`) is a file; `example.co.md` or a URL's host still counts.
_FILE_LIKE = frozenset({"md", "py", "sh", "rs", "ps", "cs", "hs", "pm"})

_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")


def known_tld(label: str) -> bool:
    lowered = label.lower()
    return lowered in _COUNTRY or lowered in _GENERIC or lowered in _INTERNATIONAL or lowered.startswith("xn--")


def plausible_domain(name: str, *, bare: bool = True) -> bool:
    """A name with a known TLD and well-formed labels. `bare`: written on its own rather than as a
    URL's host or an address's domain, so it must also look deliberate (`end.It` is a sentence
    run together, `readme.md` a file)."""
    labels = name.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return False
    tld = labels[-1]
    if not bare:
        # A URL's host or an address's domain is a domain by position: any alphabetic TLD will do.
        return tld.isalpha() or tld.lower().startswith("xn--")
    if not known_tld(tld):
        return False
    if bare:
        if not (tld.islower() or tld.isupper()):
            return False
        if len(labels) == 2 and tld.lower() in _FILE_LIKE:
            return False
    return True


def domain_value(name: str) -> str | None:
    """The register's normal form (lower-case punycode, censorwatch.model.registry), so a document
    that names a domain joins the register entries and measurements of that domain."""
    try:
        return normalise_domain(name).ascii
    except NormaliseError:
        return None


def parent_domains(value: str) -> list[str]:
    """`eais.rkn.gov.ru` -> [`rkn.gov.ru`, `gov.ru`]: what a search for a site's domain should also
    find among the names of its hosts."""
    labels = value.split(".")
    return [".".join(labels[index:]) for index in range(1, len(labels) - 1)]
