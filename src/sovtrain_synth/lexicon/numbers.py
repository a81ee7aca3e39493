"""Numbers, money, dates, times and identifiers, each rendered per language's conventions.

Amounts are exact integers rendered three ways (HK$12.35 million / 1,235萬港元 / 1,235万港元),
so the languages agree to the unit. Identifiers carry real check digits (ISO 6346 container
numbers, IMO ship numbers, air waybill mod-7) so they look like the real thing.
"""

from __future__ import annotations

import datetime as dt
import random

from sovtrain_synth.lexicon.common import MONTHS, MONTHS_ABBR, Triple, pick, rows

# code | English symbol | English name | 繁體 | 简体 | approximate units per US dollar
CURRENCIES = rows(
    """
HKD|HK$|Hong Kong dollars|港元|港元|7.8
USD|US$|US dollars|美元|美元|1
CNY|RMB|renminbi|人民幣|人民币|7.2
EUR|€|euros|歐元|欧元|0.92
GBP|£|pounds sterling|英鎊|英镑|0.79
JPY|JPY|yen|日圓|日元|150
SGD|S$|Singapore dollars|新加坡元|新加坡元|1.35
AUD|A$|Australian dollars|澳元|澳元|1.5
CAD|C$|Canadian dollars|加元|加元|1.36
CHF|CHF|Swiss francs|瑞士法郎|瑞士法郎|0.88
KRW|KRW|won|韓圜|韩元|1350
TWD|NT$|New Taiwan dollars|新台幣|新台币|32
THB|THB|baht|泰銖|泰铢|36
MYR|RM|ringgit|馬來西亞令吉|马来西亚林吉特|4.6
IDR|IDR|rupiah|印尼盾|印尼盾|16000
PHP|PHP|pesos|菲律賓披索|菲律宾比索|57
VND|VND|dong|越南盾|越南盾|25000
INR|INR|rupees|印度盧比|印度卢比|83
AED|AED|dirhams|阿聯酋迪拉姆|阿联酋迪拉姆|3.67
MOP|MOP$|patacas|澳門元|澳门元|8.05
NZD|NZ$|New Zealand dollars|紐西蘭元|新西兰元|1.65
SAR|SAR|riyals|沙特里亞爾|沙特里亚尔|3.75
""",
    6,
)
BY_CODE = {c[0]: c for c in CURRENCIES}
# Hong Kong, US dollar and renminbi dominate, as in the region's documents.
MAIN_CURRENCIES = [BY_CODE[c] for c in ("HKD", "HKD", "HKD", "USD", "USD", "USD", "CNY", "CNY")]
MAIN_CURRENCIES += CURRENCIES


def currency(rng: random.Random, main: bool = True) -> list[str]:
    return pick(rng, MAIN_CURRENCIES if main else CURRENCIES)


def amount(rng: random.Random, cur: list[str], low_usd: float, high_usd: float) -> int:
    """An amount in currency `cur` worth between `low_usd` and `high_usd` US dollars."""
    rate = float(cur[5])
    return sig(rng, low_usd * rate, high_usd * rate)


def dec(value: int, scale: int) -> str:
    """Exact decimal of value/scale with thousands separators, no trailing zeros."""
    whole, frac = divmod(value, scale)
    if not frac:
        return f"{whole:,}"
    digits = len(str(scale)) - 1
    return f"{whole:,}." + str(frac).rjust(digits, "0").rstrip("0")


def sig(rng: random.Random, low: float, high: float, digits: int = 0) -> int:
    """An integer in [low, high] (log-uniform) rounded to 2-4 significant figures."""
    value = low * (high / low) ** rng.random()
    keep = digits or (2 + int(rng.random() * 3))
    magnitude = len(str(int(value))) - keep
    if magnitude <= 0:
        return max(1, int(value))
    step = 10**magnitude
    return max(step, int(value) // step * step)


def _zh_amount(value: int, wan: str, yi: str) -> str:
    if value >= 100_000_000 and value % 1_000_000 == 0:
        return dec(value, 100_000_000) + yi
    if value >= 10_000 and value % 100 == 0:
        return dec(value, 10_000) + wan
    return f"{value:,}"


def money(rng: random.Random, cur: list[str], value: int, formal: bool = False) -> Triple:
    """`value` units of currency `cur` in each language; `formal` writes every digit."""
    code, symbol, _name, hant_name, hans_name, _rate = cur
    if formal:
        digits = f"{value:,}"
        if code == "CNY":
            return (f"CNY {digits}", f"人民幣{digits}元", f"人民币{digits}元")
        return (f"{code} {digits}", f"{digits}{hant_name}", f"{digits}{hans_name}")
    style = int(rng.random() * 5)
    if value >= 1_000_000_000 and value % 10_000_000 == 0:
        scaled, short = dec(value, 1_000_000_000) + " billion", dec(value, 1_000_000_000) + "bn"
    elif value >= 1_000_000 and value % 10_000 == 0:
        scaled, short = dec(value, 1_000_000) + " million", dec(value, 1_000_000) + "m"
    else:
        scaled = short = f"{value:,}"
    if style == 0:
        en = f"{symbol}{short}" if symbol.endswith("$") or len(symbol) == 1 else f"{code} {short}"
    elif style == 1:
        en = f"{code} {scaled}"
    elif style == 2:
        en = f"{symbol}{scaled}" if symbol.endswith("$") else f"{code} {scaled}"
    elif style == 3:
        en = f"{scaled} {_name}"
    else:
        en = f"{code} {value:,}"
    hant = _zh_amount(value, "萬", "億")
    hans = _zh_amount(value, "万", "亿")
    if code == "CNY":
        if rng.random() < 0.6:
            return (en, f"人民幣{hant}元", f"人民币{hans}元")
        return (en, f"{hant}元人民幣", f"{hans}元人民币")
    return (en, hant + hant_name, hans + hans_name)


def price(cur: list[str], cents: int) -> Triple:
    """A unit price or per-share amount with two decimals: HK$12.34 / 12.34港元."""
    code, symbol, _name, hant_name, hans_name, _rate = cur
    v = f"{cents // 100:,}.{cents % 100:02d}"
    en = f"{symbol}{v}" if symbol.endswith("$") or len(symbol) == 1 else f"{code} {v}"
    if code == "CNY":
        return (en, f"人民幣{v}元", f"人民币{v}元")
    return (en, v + hant_name, v + hans_name)


def count(value: int) -> Triple:
    """A plain count: 12,400 / 1.24萬 / 1.24万 for large round numbers, else digits."""
    if value >= 100_000 and value % 1_000 == 0:
        return (f"{value:,}", dec(value, 10_000) + "萬", dec(value, 10_000) + "万")
    return (f"{value:,}",) * 3


def pct(rng: random.Random, low: float, high: float, places: int = 1) -> str:
    return f"{low + (high - low) * rng.random():.{places}f}"


# ---- dates and times -------------------------------------------------------------------
_WEEK_HANT = "一二三四五六日"


def day(rng: random.Random, first_year: int = 2019, last_year: int = 2027) -> dt.date:
    start = dt.date(first_year, 1, 1).toordinal()
    span = dt.date(last_year, 12, 31).toordinal() - start
    return dt.date.fromordinal(start + int(rng.random() * span))


def business_day(rng: random.Random, first_year: int = 2019, last_year: int = 2027) -> dt.date:
    """A Monday-to-Friday date (weekends move back to the Friday)."""
    d = day(rng, first_year, last_year)
    return later(d, -(d.weekday() - 4)) if d.weekday() > 4 else d


def later(d: dt.date, days: int) -> dt.date:
    return dt.date.fromordinal(d.toordinal() + days)


def date(d: dt.date, style: str = "long") -> Triple:
    zh = f"{d.year}年{d.month}月{d.day}日"
    if style == "iso":
        return (d.isoformat(),) * 3
    if style == "form":
        return (f"{d.day:02d}/{d.month:02d}/{d.year}", d.isoformat(), d.isoformat())
    if style == "abbr":
        return (f"{d.day} {MONTHS_ABBR[d.month - 1]} {d.year}", zh, zh)
    if style == "us":
        return (f"{MONTHS[d.month - 1]} {d.day}, {d.year}", zh, zh)
    if style == "weekday":
        wd = d.weekday()
        return (
            f"{d.strftime('%A')}, {d.day} {MONTHS[d.month - 1]} {d.year}",
            f"{zh}（星期{_WEEK_HANT[wd]}）",
            f"{zh}（周{_WEEK_HANT[wd]}）",
        )
    return (f"{d.day} {MONTHS[d.month - 1]} {d.year}", zh, zh)


def any_date(rng: random.Random, d: dt.date) -> Triple:
    return date(d, pick(rng, ("long", "long", "abbr", "us", "weekday")))


def month_year(d: dt.date) -> Triple:
    return (f"{MONTHS[d.month - 1]} {d.year}", f"{d.year}年{d.month}月", f"{d.year}年{d.month}月")


def clock(rng: random.Random, hour: int | None = None) -> Triple:
    h = int(rng.random() * 24) if hour is None else hour
    m = int(rng.random() * 12) * 5
    style = int(rng.random() * 3)
    if style == 0:
        return (f"{h:02d}:{m:02d}",) * 3
    half_en = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    part = "上午" if h < 12 else ("下午" if h < 18 else "晚上")
    if h < 6:
        part = "凌晨"
    mm = f"{m}分" if m else ""
    return (
        f"{h12}:{m:02d} {half_en}" if m else f"{h12} {half_en}",
        f"{part}{h12}時{mm}" if m else f"{part}{h12}時",
        f"{part}{h12}点{mm}" if style == 1 else f"{h:02d}时{m:02d}分",
    )


def stamp(rng: random.Random, d: dt.date) -> str:
    """ISO-8601 timestamp with the region's +08:00 offset, as in telemetry."""
    h, m, s = int(rng.random() * 24), int(rng.random() * 60), int(rng.random() * 60)
    return f"{d.isoformat()}T{h:02d}:{m:02d}:{s:02d}+08:00"


# ---- identifiers ------------------------------------------------------------------------
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ISO6346 = {}
_v = 10
for _c in _UPPER:
    if _v % 11 == 0:
        _v += 1
    _ISO6346[_c] = _v
    _v += 1


def letters(rng: random.Random, n: int) -> str:
    return "".join(_UPPER[int(rng.random() * 26)] for _ in range(n))


def digits(rng: random.Random, n: int) -> str:
    return f"{int(rng.random() * 10**n):0{n}d}"


def container_no(rng: random.Random) -> str:
    """ISO 6346: owner code, category U, six-digit serial and the check digit."""
    body = letters(rng, 3) + "U" + digits(rng, 6)
    total = sum((_ISO6346[c] if c.isalpha() else int(c)) * (1 << i) for i, c in enumerate(body))
    return f"{body}{total % 11 % 10}"


def imo_no(rng: random.Random) -> str:
    six = "9" + digits(rng, 5)
    check = sum(int(c) * w for c, w in zip(six, range(7, 1, -1), strict=True)) % 10
    return f"IMO {six}{check}"


def awb_no(rng: random.Random) -> str:
    serial = int(rng.random() * 10**7)
    return f"{100 + int(rng.random() * 900)}-{serial:07d}{serial % 7}"


def ref(rng: random.Random, prefix: str, year: int) -> str:
    return f"{prefix}-{year}-{digits(rng, 6)}"


def voyage(rng: random.Random) -> str:
    return f"{int(rng.random() * 300):03d}{pick(rng, 'EWNS')}"


def hk_plate(rng: random.Random) -> str:
    return f"{letters(rng, 2)} {1 + int(rng.random() * 9998)}"


def flight(rng: random.Random) -> str:
    return f"{letters(rng, 2)} {100 + int(rng.random() * 9800)}"
