"""A tile-grid cartogram of the world: one equal square per country, placed roughly where the
country lies. The project has no map data, and a grid of labelled squares says what a journalist
needs (which countries, how much blocking) without pretending to geographic precision. Written
by hand for censorwatch; ISO 3166-1 alpha-2 codes, names in plain English."""

from __future__ import annotations

from dataclasses import dataclass

# Each token is a country code or ".." for an empty tile; rows run north to south.
_GRID = """
.. .. .. .. GL .. .. IS .. .. .. NO SE FI .. .. .. .. .. .. .. .. .. .. .. .. .. ..
.. CA .. .. .. .. .. .. .. .. IE GB DK EE RU .. .. .. .. .. .. .. .. .. .. .. .. ..
.. .. US .. .. .. .. .. .. .. .. NL DE PL LV BY KZ MN .. .. .. .. .. JP .. .. .. ..
.. .. .. .. .. .. .. .. .. .. BE LU CZ LT UA GE UZ KG CN .. KP .. .. .. .. .. .. ..
.. .. .. .. .. .. .. .. .. .. FR CH AT SK MD AM AZ TJ TM .. KR .. .. .. .. .. .. ..
.. .. MX .. .. .. .. .. .. PT ES IT SI HU RO TR AF PK NP BT .. TW .. .. .. .. .. ..
.. .. .. GT BZ CU BS .. .. .. AD MT HR RS BG CY SY IQ IR IN BD MM HK MO .. .. .. ..
.. .. .. SV HN JM HT DO PR .. MA DZ BA ME MK GR LB JO KW QA LK LA VN PH .. .. .. ..
.. .. .. .. NI CR PA TT .. .. EH TN LY AL XK IL PS SA BH AE MV TH KH .. .. .. .. ..
.. .. .. .. .. CO VE GY SR .. MR ML NE EG SD ER YE OM .. .. .. MY BN .. .. .. .. ..
.. .. .. .. .. EC PE BR GF .. SN GM BF TD SS ET DJ SO .. .. .. SG ID TL PG SB .. ..
.. .. .. .. .. .. BO PY .. .. GW GN CI GH TG BJ NG CM CF UG KE .. .. .. .. .. .. ..
.. .. .. .. .. .. CL AR UY .. CV SL LR GQ GA CG CD RW TZ BI .. .. .. .. AU .. .. ..
.. .. .. .. .. .. .. .. .. .. .. .. .. .. AO ZM MW MZ MG MU .. .. .. .. .. NZ FJ ..
.. .. .. .. .. .. .. .. .. .. .. .. .. NA BW ZW SZ LS KM SC .. .. .. .. .. .. .. ..
.. .. .. .. .. .. .. .. .. .. .. .. .. .. ZA .. .. .. .. .. .. .. .. .. .. .. .. ..
"""

NAMES: dict[str, str] = {
    "AD": "Andorra", "AE": "United Arab Emirates", "AF": "Afghanistan", "AL": "Albania", "AM": "Armenia",
    "AO": "Angola", "AR": "Argentina", "AT": "Austria", "AU": "Australia", "AZ": "Azerbaijan",
    "BA": "Bosnia and Herzegovina", "BD": "Bangladesh", "BE": "Belgium", "BF": "Burkina Faso", "BG": "Bulgaria",
    "BH": "Bahrain", "BI": "Burundi", "BJ": "Benin", "BN": "Brunei", "BO": "Bolivia", "BR": "Brazil",
    "BS": "Bahamas", "BT": "Bhutan", "BW": "Botswana", "BY": "Belarus", "BZ": "Belize", "CA": "Canada",
    "CD": "DR Congo", "CF": "Central African Republic", "CG": "Congo", "CH": "Switzerland", "CI": "Côte d'Ivoire",
    "CL": "Chile", "CM": "Cameroon", "CN": "China", "CO": "Colombia", "CR": "Costa Rica", "CU": "Cuba",
    "CV": "Cabo Verde", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DJ": "Djibouti", "DK": "Denmark",
    "DO": "Dominican Republic", "DZ": "Algeria", "EC": "Ecuador", "EE": "Estonia", "EG": "Egypt",
    "EH": "Western Sahara", "ER": "Eritrea", "ES": "Spain", "ET": "Ethiopia", "FI": "Finland", "FJ": "Fiji",
    "FR": "France", "GA": "Gabon", "GB": "United Kingdom", "GE": "Georgia", "GF": "French Guiana", "GH": "Ghana",
    "GL": "Greenland", "GM": "Gambia", "GN": "Guinea", "GQ": "Equatorial Guinea", "GR": "Greece",
    "GT": "Guatemala", "GW": "Guinea-Bissau", "GY": "Guyana", "HK": "Hong Kong", "HN": "Honduras",
    "HR": "Croatia", "HT": "Haiti", "HU": "Hungary", "ID": "Indonesia", "IE": "Ireland", "IL": "Israel",
    "IN": "India", "IQ": "Iraq", "IR": "Iran", "IS": "Iceland", "IT": "Italy", "JM": "Jamaica", "JO": "Jordan",
    "JP": "Japan", "KE": "Kenya", "KG": "Kyrgyzstan", "KH": "Cambodia", "KM": "Comoros", "KP": "North Korea",
    "KR": "South Korea", "KW": "Kuwait", "KZ": "Kazakhstan", "LA": "Laos", "LB": "Lebanon", "LK": "Sri Lanka",
    "LR": "Liberia", "LS": "Lesotho", "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "LY": "Libya",
    "MA": "Morocco", "MD": "Moldova", "ME": "Montenegro", "MG": "Madagascar", "MK": "North Macedonia",
    "ML": "Mali", "MM": "Myanmar", "MN": "Mongolia", "MO": "Macao", "MR": "Mauritania", "MT": "Malta",
    "MU": "Mauritius", "MV": "Maldives", "MW": "Malawi", "MX": "Mexico", "MY": "Malaysia", "MZ": "Mozambique",
    "NA": "Namibia", "NE": "Niger", "NG": "Nigeria", "NI": "Nicaragua", "NL": "Netherlands", "NO": "Norway",
    "NP": "Nepal", "NZ": "New Zealand", "OM": "Oman", "PA": "Panama", "PE": "Peru", "PG": "Papua New Guinea",
    "PH": "Philippines", "PK": "Pakistan", "PL": "Poland", "PR": "Puerto Rico", "PS": "Palestine",
    "PT": "Portugal", "PY": "Paraguay", "QA": "Qatar", "RO": "Romania", "RS": "Serbia", "RU": "Russia",
    "RW": "Rwanda", "SA": "Saudi Arabia", "SB": "Solomon Islands", "SC": "Seychelles", "SD": "Sudan",
    "SE": "Sweden", "SG": "Singapore", "SI": "Slovenia", "SK": "Slovakia", "SL": "Sierra Leone",
    "SN": "Senegal", "SO": "Somalia", "SR": "Suriname", "SS": "South Sudan", "SV": "El Salvador",
    "SY": "Syria", "SZ": "Eswatini", "TD": "Chad", "TG": "Togo", "TH": "Thailand", "TJ": "Tajikistan",
    "TL": "Timor-Leste", "TM": "Turkmenistan", "TN": "Tunisia", "TR": "Türkiye", "TT": "Trinidad and Tobago",
    "TW": "Taiwan", "TZ": "Tanzania", "UA": "Ukraine", "UG": "Uganda", "US": "United States", "UY": "Uruguay",
    "UZ": "Uzbekistan", "VE": "Venezuela", "VN": "Vietnam", "XK": "Kosovo", "YE": "Yemen", "ZA": "South Africa",
    "ZM": "Zambia", "ZW": "Zimbabwe", "ZZ": "Unknown country (withheld)",
}  # fmt: skip


def _positions() -> dict[str, tuple[int, int]]:
    places: dict[str, tuple[int, int]] = {}
    for row, line in enumerate(_GRID.strip().splitlines()):
        for col, token in enumerate(line.split()):
            if token != "..":
                places[token] = (col, row)
    return places


POSITIONS = _positions()
COLUMNS = 1 + max(col for col, _ in POSITIONS.values())
ROWS = 1 + max(row for _, row in POSITIONS.values())


def country_name(code: str | None) -> str:
    if not code:
        return "Unknown country"
    return NAMES.get(code.upper(), code.upper())


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    x: int
    y: int
    level: int  # 0 no data, 1 measured without anomalies, 2..5 growing share of blocked measurements
    total: int
    blocked: int
    confirmed: int


TILE = 34
GAP = 3


def tiles(per_country: dict[str, dict[str, int]]) -> list[Tile]:
    """per_country: code -> {"total", "blocked", "confirmed"}. Countries missing from the grid
    (rare codes) are listed on the page under the map instead."""
    out = []
    for code, (col, row) in sorted(POSITIONS.items()):
        counts = per_country.get(code, {})
        total = counts.get("total", 0)
        blocked = counts.get("blocked", 0)
        out.append(
            Tile(code, country_name(code), col * (TILE + GAP), row * (TILE + GAP), level(total, blocked), total,
                 blocked, counts.get("confirmed", 0))
        )
    return out


def level(total: int, blocked: int) -> int:
    if total == 0:
        return 0
    if blocked == 0:
        return 1
    share = blocked / total
    return 2 if share < 0.05 else 3 if share < 0.2 else 4 if share < 0.5 else 5


WIDTH = COLUMNS * (TILE + GAP)
HEIGHT = ROWS * (TILE + GAP)
