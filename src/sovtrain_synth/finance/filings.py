"""Finance documents: annual and interim results announcements of listed companies."""

from __future__ import annotations

import random
from typing import cast

from sovtrain_synth.finance.markets import PCT_RATIOS, PLANS, RATIO_RANGES, TONES, change
from sovtrain_synth.lexicon.common import Facts, Say, Triple, chance, glue, para, pick
from sovtrain_synth.lexicon.companies import company
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import (
    BY_CODE,
    amount,
    any_date,
    date,
    day,
    later,
    money,
    pct,
    price,
    sig,
)
from sovtrain_synth.lexicon.phrases import NOTES
from sovtrain_synth.lexicon.places import CITIES, COUNTRIES
from sovtrain_synth.lexicon.terms_finance import ACCOUNTS, DRIVERS, SECTORS

ANNUAL = (("annual", "year", "final"), ("全年", "年度", "末期"), ("年度", "年度", "末期"))
INTERIM = (
    ("interim", "six months", "interim"),
    ("中期", "六個月", "中期"),
    ("半年度", "六个月", "中期"),
)

TITLE = Say(
    [
        "{co}: {pname} results for the {plen} ended {end}",
        "{co} announces {pname} results",
        "Announcement of {pname} results: {co}",
        "{co} - results announcement for the {plen} ended {end}",
    ],
    [
        "{co}截至{end}止{plen}業績公告",
        "{co}公佈{pname}業績",
        "{pname}業績公告：{co}",
        "{co}－截至{end}止{plen}之業績公佈",
    ],
    [
        "{co}截至{end}止{plen}业绩公告",
        "{co}公布{pname}业绩",
        "{pname}业绩公告：{co}",
        "{co}：截至{end}止{plen}业绩公告",
    ],
)
REVENUE = Say(
    [
        "For the {plen} ended {end}, the Group's revenue {rdir} {rpct}% to {revenue}.",
        "Revenue {rdir} {rpct}% year on year to {revenue}.",
        "The Group recorded revenue of {revenue}, {rdir} by {rpct}% from a year earlier.",
    ],
    [
        "截至{end}止{plen}，集團收益{rdir}{rpct}%至{revenue}。",
        "收益按年{rdir}{rpct}%至{revenue}。",
        "集團錄得收益{revenue}，較去年同期{rdir}{rpct}%。",
    ],
    [
        "截至{end}止{plen}，集团营业收入{rdir}{rpct}%至{revenue}。",
        "营业收入同比{rdir}{rpct}%至{revenue}。",
        "集团实现营业收入{revenue}，较上年同期{rdir}{rpct}%。",
    ],
)
PROFIT = Say(
    [
        "Profit attributable to shareholders was {profit}, compared with {profit_prev} a year "
        "earlier.",
        "Profit attributable to owners of the Company {pdir} {ppct}% to {profit}.",
        "Net profit attributable to equity holders came in at {profit}.",
    ],
    [
        "股東應佔溢利為{profit}，去年同期為{profit_prev}。",
        "本公司擁有人應佔溢利{pdir}{ppct}%至{profit}。",
        "權益持有人應佔純利為{profit}。",
    ],
    [
        "归属于母公司股东的净利润为{profit}，上年同期为{profit_prev}。",
        "归母净利润{pdir}{ppct}%至{profit}。",
        "归属于本公司股东的净利润为{profit}。",
    ],
)
EPS = Say(
    ["Basic earnings per share were {eps}.", "Basic EPS came to {eps}, against {eps_prev}."],
    ["每股基本盈利為{eps}。", "每股基本盈利為{eps}，去年同期為{eps_prev}。"],
    ["基本每股收益为{eps}。", "基本每股收益为{eps}，上年同期为{eps_prev}。"],
)
DIVIDEND = Say(
    [
        "The Board recommends {adtype} dividend of {dps} per share.",
        "The Board has declared {adtype} dividend of {dps} per share, a payout ratio of {payout}%.",
        "{adtype} dividend of {dps} per share will be paid on {paydate}.",
    ],
    [
        "董事會建議派發{dtype}股息每股{dps}。",
        "董事會宣佈派發{dtype}股息每股{dps}，派息比率為{payout}%。",
        "{dtype}股息每股{dps}將於{paydate}派付。",
    ],
    [
        "董事会建议派发{dtype}股息每股{dps}。",
        "董事会宣布派发{dtype}股息每股{dps}，分红率为{payout}%。",
        "{dtype}股息每股{dps}将于{paydate}派付。",
    ],
)
ITEM = Say(
    [
        "{item} {idir} {ipct}% to {iamt}.",
        "As at {end}, {item} stood at {iamt}.",
        "{item}: {iamt} ({idir} {ipct}% year on year).",
    ],
    [
        "{item}{idir}{ipct}%至{iamt}。",
        "於{end}，{item}為{iamt}。",
        "{item}：{iamt}（按年{idir}{ipct}%）。",
    ],
    [
        "{item}{idir}{ipct}%至{iamt}。",
        "截至{end}，{item}为{iamt}。",
        "{item}：{iamt}（同比{idir}{ipct}%）。",
    ],
)
RATIO = Say(
    ["The {ratio} was {rv}%.", "The Group's {ratio} stood at {rv}%, compared with {rv_prev}%."],
    ["{ratio}為{rv}%。", "集團{ratio}為{rv}%，去年同期為{rv_prev}%。"],
    ["{ratio}为{rv}%。", "集团{ratio}为{rv}%，上年同期为{rv_prev}%。"],
)
SEGMENT = Say(
    [
        "The {segment} segment contributed {share}% of revenue, with growth led by {region}.",
        "Revenue from {region} {sdir} {spct}%, reflecting {driver}.",
        "In the {segment} business, performance was shaped by {driver}.",
    ],
    [
        "{segment}分部佔收益{share}%，增長主要來自{region}。",
        "來自{region}的收益{sdir}{spct}%，反映{driver}。",
        "{segment}業務方面，表現主要受{driver}影響。",
    ],
    [
        "{segment}分部占营业收入{share}%，增长主要来自{region}。",
        "来自{region}的收入{sdir}{spct}%，反映{driver}。",
        "{segment}业务方面，业绩主要受{driver}影响。",
    ],
)
OUTLOOK = Say(
    [
        "Looking ahead, the Group remains {tone} and will continue to {plan}.",
        "{chair}, Chairman, said the Group would {plan} in the coming year.",
        "The Board is {tone} about the outlook and plans to {plan}.",
    ],
    [
        "展望未來，集團保持{tone}，並將繼續{plan}。",
        "主席{chair}表示，集團來年將{plan}。",
        "董事會對前景保持{tone}，並計劃{plan}。",
    ],
    [
        "展望未来，集团保持{tone}，并将继续{plan}。",
        "董事长{chair}表示，集团来年将{plan}。",
        "董事会对前景保持{tone}，并计划{plan}。",
    ],
)
AGM = Say(
    ["The annual general meeting will be held on {agm}.", "The AGM is scheduled for {agm}."],
    ["股東週年大會將於{agm}舉行。", "本公司謹定於{agm}舉行股東週年大會。"],
    ["年度股东大会将于{agm}召开。", "本公司定于{agm}召开年度股东大会。"],
)
CLOSURE = Say(
    [
        "The register of members will be closed from {bc1} to {bc2}, both days inclusive.",
        "No transfer of shares will be registered between {bc1} and {bc2}.",
    ],
    [
        "本公司將於{bc1}至{bc2}（包括首尾兩天）暫停辦理股份過戶登記手續。",
        "於{bc1}至{bc2}期間，將不會辦理任何股份過戶登記。",
    ],
    [
        "本公司将于{bc1}至{bc2}（含首尾两日）暂停办理股份过户登记手续。",
        "{bc1}至{bc2}期间，将不会办理任何股份过户登记。",
    ],
)
SIGN = (
    "By order of the Board\n{co}\n{chair}\nChairman\nHong Kong, {date}",
    "承董事會命\n{co}\n主席\n{chair}\n香港，{date}",
    "承董事会命\n{co}\n董事长\n{chair}\n香港，{date}",
)


def _filing(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    full, _short = company(rng)
    f.put("co", full)
    year = 2019 + int(r() * 8)
    annual = r() < 0.6
    names = ANNUAL if annual else INTERIM
    for i, key in enumerate(("pname", "plen", "dtype")):
        f.put(key, (names[0][i], names[1][i], names[2][i]))
    f.en["adtype"] = "a final" if annual else "an interim"
    end = day(rng, year, year).replace(month=12 if annual else 6, day=31 if annual else 30)
    f.put("end", date(end, pick(rng, ("long", "abbr", "us"))))
    cur = BY_CODE[pick(rng, ("HKD", "HKD", "CNY", "CNY", "USD"))]
    revenue = amount(rng, cur, 3e7, 1e11)
    grow = r() < 0.6
    f.same("rpct", pct(rng, 0.3, 35.0, 1))
    change(rng, f, "rdir", grow)
    f.put("revenue", money(rng, cur, revenue))
    profit = sig(rng, revenue * 0.01, revenue * 0.25, 3)
    f.put("profit", money(rng, cur, profit))
    f.put("profit_prev", money(rng, cur, sig(rng, profit * 0.5, profit * 1.6, 3)))
    change(rng, f, "pdir", r() < 0.55)
    f.same("ppct", pct(rng, 0.5, 60.0, 1))
    eps = int(sig(rng, 3, 2500, 3))
    f.put("eps", price(cur, eps))
    f.put("eps_prev", price(cur, int(eps * (0.6 + r() * 0.9)) + 1))
    f.put("dps", price(cur, int(sig(rng, 2, 900, 2))))
    f.same("payout", str(20 + int(r() * 50)))
    paydate = later(end, 60 + int(r() * 120))
    f.put("paydate", date(paydate))
    f.put("chair", person(rng))
    f.put("date", any_date(rng, later(end, 50 + int(r() * 40))))
    blocks = [TITLE(rng, f), para(rng, f, [REVENUE, PROFIT] + ([EPS] if chance(rng, 0.7) else []))]
    if chance(rng, 0.8):
        blocks.append(DIVIDEND(rng, f))
    items = []
    for acct in rng.sample(ACCOUNTS[1:], 2 + int(r() * 3)):
        f.put("item", acct)
        change(rng, f, "idir", r() < 0.5)
        f.same("ipct", pct(rng, 0.5, 40.0, 1))
        f.put("iamt", money(rng, cur, sig(rng, revenue * 0.005, revenue * 0.6, 4)))
        items.append(ITEM(rng, f))
    for ratio in rng.sample(PCT_RATIOS, int(r() * 3)):
        f.put("ratio", ratio)
        low, high = RATIO_RANGES[ratio[0]]
        f.same("rv", pct(rng, low, high, 1))
        f.same("rv_prev", pct(rng, low, high, 1))
        items.append(RATIO(rng, f))
    blocks.append(glue(items))
    segs = []
    for _ in range(1 + int(r() * 2)):
        f.put("segment", pick(rng, SECTORS))
        f.put("region", pick(rng, COUNTRIES) if r() < 0.5 else pick(rng, CITIES))
        f.put("driver", pick(rng, DRIVERS))
        f.same("share", str(10 + int(r() * 70)))
        f.same("spct", pct(rng, 0.5, 30.0, 1))
        change(rng, f, "sdir", r() < 0.6)
        segs.append(SEGMENT(rng, f))
    blocks.append(glue(segs))
    f.put("tone", pick(rng, TONES))
    f.put("plan", pick(rng, PLANS))
    blocks.append(OUTLOOK(rng, f))
    if annual and chance(rng, 0.7):
        agm = later(end, 120 + int(r() * 30))
        f.put("agm", date(agm, "weekday"))
        f.put("bc1", date(later(agm, -5)))
        f.put("bc2", date(agm))
        blocks.append(para(rng, f, [AGM, CLOSURE]))
    if chance(rng, 0.5):
        blocks.append(pick(rng, NOTES))
    blocks.append(
        cast(
            Triple,
            tuple(s.format_map(d) for s, d in zip(SIGN, (f.en, f.hant, f.hans), strict=True)),
        )
    )
    return blocks


KINDS = {"filing": _filing}
