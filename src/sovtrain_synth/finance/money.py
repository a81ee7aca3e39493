"""Finance documents: FX and money-market daily notes, and monthly fund commentary."""

from __future__ import annotations

import random

from sovtrain_synth.finance.markets import MR_FX, QUOTE, direction, quote_outlook
from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, chance, para, pick, table
from sovtrain_synth.lexicon.companies import bank, brand, company
from sovtrain_synth.lexicon.names import ROLES
from sovtrain_synth.lexicon.numbers import (
    BY_CODE,
    any_date,
    business_day,
    day,
    money,
    month_year,
    price,
    sig,
)
from sovtrain_synth.lexicon.phrases import DISCLAIMERS
from sovtrain_synth.lexicon.terms_finance import DRIVERS, FUND_STRATEGIES, SECTORS

TREASURY_ROLES = [r for r in ROLES if r[0] in {"FX trader", "head of treasury", "economist"}]
MANAGER_ROLES = [
    r for r in ROLES if r[0] in {"fund manager", "portfolio manager", "chief investment officer"}
]

FX_TITLE = Say(
    [
        "Money markets, {date}: HIBOR and the Hong Kong dollar",
        "One-month HIBOR {hmove} to {m1}%",
        "FX and money market daily, {date}",
    ],
    [
        "{date}貨幣市場：港元拆息及匯價",
        "一個月港元拆息{move}至{m1}厘",
        "外匯及貨幣市場日報（{date}）",
    ],
    [
        "{date}货币市场：港元拆息及汇价",
        "一个月期港元拆息{move}至{m1}%",
        "外汇及货币市场日报（{date}）",
    ],
)
HIBOR = Say(
    [
        "Overnight HIBOR {move} to {on}%, while the one-month rate, closely watched for mortgage "
        "pricing, stood at {m1}%.",
        "The one-month Hong Kong interbank offered rate {move} {bp} basis points to {m1}%.",
        "Three-month HIBOR was fixed at {m3}% and the overnight rate at {on}%.",
    ],
    [
        "隔夜港元拆息{move}至{on}厘，與供樓按息掛鈎的一個月拆息報{m1}厘。",
        "一個月港元銀行同業拆息{move}{bp}點子至{m1}厘。",
        "三個月港元拆息報{m3}厘，隔夜拆息報{on}厘。",
    ],
    [
        "隔夜香港银行同业拆息{move}至{on}%，与房贷利率挂钩的一个月期拆息报{m1}%。",
        "一个月期香港银行同业拆息{move}{bp}个基点至{m1}%。",
        "三个月期香港银行同业拆息报{m3}%，隔夜拆息报{on}%。",
    ],
)
AGG = Say(
    [
        "The aggregate balance of the banking system is expected to be {agg} tomorrow.",
        "Interbank liquidity, measured by the aggregate balance, stood at {agg}.",
    ],
    ["銀行體系總結餘預計明日為{agg}。", "以總結餘計算的銀行同業流動性為{agg}。"],
    ["银行体系总结余预计明日为{agg}。", "以总结余衡量的银行间流动性为{agg}。"],
)
FIX = Say(
    [
        "The central parity rate of the yuan was set at {fix} per US dollar.",
        "The onshore yuan midpoint was fixed at {fix}, {fixdir} {pips} pips on the day.",
    ],
    ["人民幣兌美元中間價報{fix}。", "人民幣中間價定於{fix}，較前一日{fixdir}{pips}點子。"],
    ["人民币对美元中间价报{fix}。", "人民币中间价定于{fix}，较前一日{fixdir}{pips}个基点。"],
)
CNH = Say(
    [
        "Overnight CNH HIBOR {move2} to {cnh_on}%, reflecting {driver}.",
        "Offshore yuan funding costs {move2}, with the overnight rate at {cnh_on}%.",
    ],
    [
        "隔夜離岸人民幣拆息{move2}至{cnh_on}厘，反映{driver}。",
        "離岸人民幣資金成本{move2}，隔夜拆息報{cnh_on}厘。",
    ],
    [
        "隔夜离岸人民币同业拆息{move2}至{cnh_on}%，反映{driver}。",
        "离岸人民币资金成本{move2}，隔夜拆息报{cnh_on}%。",
    ],
)
FIXDIR = table(
    """
stronger by|調升|调升
weaker by|調降|调降
"""
)


def _fx_money_market(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    up = r() < 0.5
    f.put("date", any_date(rng, business_day(rng)))
    direction(rng, f, "move", up)
    f.en["hmove"] = pick(rng, ["rises", "climbs"] if up else ["falls", "eases"])
    base = 0.2 + r() * 5
    f.same("on", f"{max(0.01, base - 0.6 + r()):.5f}")
    f.same("m1", f"{base:.5f}")
    f.same("m3", f"{base + r() * 0.5:.5f}")
    f.same("bp", str(1 + int(r() * 40)))
    f.put("agg", money(rng, BY_CODE["HKD"], sig(rng, 4.5e9, 2e11, 3)))
    f.same("fix", f"{6.9 + r() * 0.45:.4f}")
    f.put("fixdir", pick(rng, FIXDIR))
    f.same("pips", str(1 + int(r() * 150)))
    direction(rng, f, "move2", r() < 0.5)
    f.same("cnh_on", f"{0.5 + r() * 6:.4f}")
    f.put("driver", pick(rng, DRIVERS))
    f.same("hkd", f"{7.75 + r() * 0.1:.4f}")
    f.same("cnh", f"{6.85 + r() * 0.5:.4f}")
    quote_outlook(rng, f)
    f.put("role", pick(rng, TREASURY_ROLES))
    f.put("firm", bank(rng)[1])
    blocks = [FX_TITLE(rng, f), para(rng, f, [HIBOR, AGG])]
    blocks.append(para(rng, f, [MR_FX, FIX] + ([CNH] if chance(rng, 0.6) else [])))
    if chance(rng, 0.6):
        blocks.append(QUOTE(rng, f))
    return blocks


FUND_TITLE = Say(
    ["{fund}: monthly commentary, {month}", "{fund} - fund update for {month}"],
    ["{fund}：{month}每月評論", "{fund}{month}基金月報"],
    ["{fund}：{month}月度点评", "{fund}{month}基金月报"],
)
PERF = Say(
    [
        "The fund returned {ret}% in {month}, against {bench}% for its benchmark.",
        "In {month}, the fund's net asset value per unit {move} {absret}% to {nav}, {vs} the "
        "benchmark.",
        "Net of fees, the fund {move} {absret}% over the month, versus {bench}% for the benchmark.",
    ],
    [
        "基金於{month}錄得{ret}%回報，基準指數回報為{bench}%。",
        "{month}基金每單位資產淨值{move}{absret}%至{nav}，{vs}基準。",
        "扣除費用後，基金本月{move}{absret}%，基準回報則為{bench}%。",
    ],
    [
        "基金{month}录得{ret}%回报，业绩基准回报为{bench}%。",
        "{month}基金单位净值{move}{absret}%至{nav}，{vs}业绩基准。",
        "扣除费用后，基金本月{move}{absret}%，业绩基准回报为{bench}%。",
    ],
)
CONTRIB = Say(
    [
        "Positions in {co} and {co2} contributed most, while {co3} detracted.",
        "Top contributors were {co} and {co2}; {co3} was the main detractor.",
    ],
    ["{co}及{co2}的持倉貢獻最大，{co3}則拖累表現。", "主要貢獻來自{co}及{co2}，{co3}為主要拖累。"],
    [
        "{co}和{co2}的持仓贡献最大，{co3}则拖累表现。",
        "主要贡献来自{co}和{co2}，{co3}为主要拖累因素。",
    ],
)
ALLOC = Say(
    [
        "The fund held {w1}% in {sec1} stocks, {w2}% in {sec2} stocks and {cash}% in cash.",
        "Sector allocation: {sec1} {w1}%, {sec2} {w2}%, cash {cash}%.",
    ],
    [
        "基金{w1}%投資於{sec1}股，{w2}%投資於{sec2}股，現金佔{cash}%。",
        "行業配置：{sec1}{w1}%，{sec2}{w2}%，現金{cash}%。",
    ],
    [
        "基金{w1}%投资于{sec1}股，{w2}%投资于{sec2}股，现金占{cash}%。",
        "行业配置：{sec1}{w1}%，{sec2}{w2}%，现金{cash}%。",
    ],
)
AUM = Say(
    ["Fund size was {aum} at month-end.", "Assets under management totalled {aum}."],
    ["月底基金規模為{aum}。", "管理資產總值為{aum}。"],
    ["月末基金规模为{aum}。", "管理资产总额为{aum}。"],
)
VS = (("outperforming", "trailing"), ("跑贏", "跑輸"), ("跑赢", "跑输"))


def _fund_commentary(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    b, strat = brand(rng), pick(rng, FUND_STRATEGIES)
    f.put("fund", (f"{b[0]} {strat[0]}", b[1] + strat[1], b[2] + strat[2]))
    f.put("month", month_year(day(rng)))
    ret = -6 + r() * 12
    bench = ret + (r() - 0.5) * 3
    f.same("ret", f"{ret:+.2f}")
    f.same("absret", f"{abs(ret):.2f}")
    f.same("bench", f"{bench:+.2f}")
    direction(rng, f, "move", ret >= 0)
    i = 0 if ret >= bench else 1
    f.put("vs", (VS[0][i], VS[1][i], VS[2][i]))
    cur = BY_CODE[pick(rng, ("USD", "HKD", "CNY"))]
    f.put("nav", price(cur, int(sig(rng, 500, 50000, 4))))
    f.put("aum", money(rng, cur, sig(rng, 2e7, 8e9, 3)))
    holdings = [company(rng)[1] for _ in range(3 + int(r() * 3))]
    for key, h in zip(("co", "co2", "co3"), holdings, strict=False):
        f.put(key, h)
    s1, s2 = rng.sample(SECTORS, 2)
    f.put("sec1", s1)
    f.put("sec2", s2)
    w1 = 15 + int(r() * 40)
    f.same("w1", str(w1))
    f.same("w2", str(5 + int(r() * (90 - w1) * 0.5)))
    f.same("cash", str(1 + int(r() * 8)))
    quote_outlook(rng, f)
    f.put("role", pick(rng, MANAGER_ROLES))
    f.put("firm", company(rng, "f")[1])
    blocks = [FUND_TITLE(rng, f), para(rng, f, [PERF, CONTRIB])]
    weights = sorted((round(1 + r() * 8, 1) for _ in holdings), reverse=True)
    lines = [
        (f"{h[0]} {w}%", f"{h[1]} {w}%", f"{h[2]} {w}%")
        for h, w in zip(holdings, weights, strict=True)
    ]
    top = bullets(lines, numbered=False)
    blocks.append(("Top holdings:\n" + top[0], "主要持倉：\n" + top[1], "主要持仓：\n" + top[2]))
    blocks.append(para(rng, f, [ALLOC, AUM]))
    if chance(rng, 0.7):
        blocks.append(QUOTE(rng, f))
    blocks.append(pick(rng, DISCLAIMERS))
    return blocks


KINDS = {"fx-money-market": _fx_money_market, "fund-commentary": _fund_commentary}
