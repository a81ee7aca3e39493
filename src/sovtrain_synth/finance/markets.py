"""Finance documents, markets side: daily market reports and FX / money-market notes, plus the
wording helpers (directions, analyst quotes) the other finance modules share."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Facts, Say, Triple, chance, glue, para, pick, table
from sovtrain_synth.lexicon.companies import company
from sovtrain_synth.lexicon.names import ROLES, person
from sovtrain_synth.lexicon.numbers import (
    BY_CODE,
    any_date,
    business_day,
    money,
    pct,
    price,
    sig,
)
from sovtrain_synth.lexicon.phrases import OUTLOOKS
from sovtrain_synth.lexicon.terms_finance import (
    DRIVERS,
    INDEXES,
    RATIOS,
    SECTORS,
)

UP = (
    ["rose", "gained", "climbed", "advanced", "added"],
    ["上升", "上揚", "攀升", "走高", "揚升"],
    ["上涨", "上扬", "攀升", "走高", "走强"],
)
DOWN = (
    ["fell", "dropped", "slipped", "declined", "lost"],
    ["下跌", "回落", "下挫", "走低", "跌"],
    ["下跌", "回落", "下挫", "走低", "收跌"],
)
MORE = (("increased", "grew"), ("增加", "上升"), ("增长", "上升"))
LESS = (("decreased", "declined"), ("減少", "下跌"), ("减少", "下降"))
ANALYST_ROLES = [
    r
    for r in ROLES
    if r[0]
    in {
        "chief economist",
        "head of research",
        "senior analyst",
        "equity strategist",
        "portfolio manager",
        "chief investment officer",
        "economist",
        "fund manager",
    }
]
# Ratio -> plausible range in percent, for the ratios quoted as percentages.
RATIO_RANGES = {
    "dividend yield": (1, 9),
    "return on equity": (2, 25),
    "return on assets": (0.3, 8),
    "net interest margin": (1.2, 2.8),
    "cost-to-income ratio": (25, 65),
    "loan-to-deposit ratio": (55, 95),
    "common equity tier 1 ratio": (10, 18),
    "total capital ratio": (14, 22),
    "liquidity coverage ratio": (110, 250),
    "net stable funding ratio": (105, 160),
    "non-performing loan ratio": (0.5, 5),
    "provision coverage ratio": (80, 300),
    "gearing ratio": (10, 90),
    "net gearing": (5, 120),
    "gross margin": (10, 60),
    "operating margin": (3, 35),
    "net profit margin": (1, 30),
    "EBITDA margin": (8, 45),
    "dividend payout ratio": (20, 80),
    "combined ratio": (85, 105),
    "solvency ratio": (150, 300),
    "loan-to-value ratio": (30, 70),
    "occupancy rate": (75, 99),
}
PCT_RATIOS = [r for r in RATIOS if r[0] in RATIO_RANGES]

NEWS_UP = table(
    """
announcing a share buy-back|宣佈股份回購|宣布股份回购
better-than-expected interim results|中期業績勝預期|中期业绩好于预期
a broker upgrade|獲券商上調評級|获券商上调评级
winning a major contract|奪得大額合約|赢得大额合同
completing an acquisition|完成收購|完成收购
raising its dividend|提高派息
"""
)
NEWS_DOWN = table(
    """
a broker downgrade|遭券商下調評級|遭券商下调评级
issuing a profit warning|發出盈利警告|发布业绩预警
news of a discounted share placing|傳出折讓配售新股消息|传出折价配售新股消息
weaker-than-expected results|業績遜於預期|业绩不及预期
a cut in its full-year guidance|下調全年指引|下调全年指引
"""
)
# Index name -> plausible level range.
LEVELS = {
    "Hang Seng Index": (14000, 30000),
    "Hang Seng China Enterprises Index": (5000, 11000),
    "Hang Seng TECH Index": (3000, 7000),
    "CSI 300": (3000, 5500),
    "Shanghai Composite Index": (2600, 3800),
    "Shenzhen Component Index": (8000, 13000),
    "ChiNext Index": (1600, 3200),
    "STAR 50 Index": (700, 1300),
    "Nikkei 225": (26000, 42000),
    "KOSPI": (2300, 3300),
    "Straits Times Index": (3000, 4200),
    "TAIEX": (14000, 24000),
    "S&P 500": (3800, 6500),
    "Nasdaq Composite": (11000, 21000),
    "FTSE 100": (7000, 9000),
    "STOXX Europe 600": (420, 560),
}
HOME_INDEXES = INDEXES[:3]
HEADLINE_UP = ["rises", "gains", "climbs", "advances"]
HEADLINE_DOWN = ["falls", "drops", "slips", "retreats"]


PLANS = table(
    """
control costs and protect margins|控制成本並保障利潤率|控制成本并保障利润率
expand in the Greater Bay Area|拓展大灣區業務|拓展大湾区业务
invest in digital transformation|投資數碼轉型|投资数字化转型
strengthen its balance sheet|鞏固資產負債表|巩固资产负债表
pursue selective acquisitions|物色合適的收購機會|寻求合适的收购机会
deepen its presence in Southeast Asia|深化東南亞業務佈局|深化东南亚业务布局
cut carbon emissions across its operations|減少營運中的碳排放|减少运营中的碳排放
return surplus capital to shareholders|向股東退還盈餘資本|向股东返还富余资本
"""
)
TONES = table(
    """
cautiously optimistic|審慎樂觀|审慎乐观
prudent|審慎|审慎
positive|積極|积极
"""
)

TDIR = table(
    """
up from the previous session|較上一交易日增加|较上一交易日增加
down from the previous session|較上一交易日減少|较上一交易日减少
little changed from the previous session|與上一交易日相若|与上一交易日基本持平
"""
)


def direction(rng: random.Random, facts: Facts, key: str, up: bool) -> None:
    words = UP if up else DOWN
    facts.put(key, (pick(rng, words[0]), pick(rng, words[1]), pick(rng, words[2])))


def change(rng: random.Random, facts: Facts, key: str, up: bool) -> None:
    words = MORE if up else LESS
    facts.put(key, (pick(rng, words[0]), pick(rng, words[1]), pick(rng, words[2])))


def quote_outlook(rng: random.Random, f: Facts) -> None:
    text = f.put("outlook", pick(rng, OUTLOOKS))
    f.en["Outlook"] = text[0][0].upper() + text[0][1:]
    f.put("analyst", person(rng))
    f.put("role", pick(rng, ANALYST_ROLES))
    f.put("firm", company(rng, "f")[1])


# ---- market report ----------------------------------------------------------------------
MR_TITLE = Say(
    [
        "Market wrap: the {idx} {hmove} {pct}%",
        "{idx} {hmove} {pct}% as investors weigh {driver}",
        "Hong Kong and mainland markets at the close, {date}",
        "Daily market report: {idx} ends at {level}",
    ],
    [
        "【收市報告】{idx}{move}{pct}%",
        "{idx}{move}{pct}%，市場關注{driver}",
        "{date}港股收市摘要",
        "每日市場報告：{idx}收報{level}點",
    ],
    [
        "【收盘报告】{idx}{move}{pct}%",
        "{idx}{move}{pct}%，市场关注{driver}",
        "{date}市场收盘摘要",
        "每日市场报告：{idx}收于{level}点",
    ],
)
MR_CLOSE = Say(
    [
        "The {idx} {move} {pts} points, or {pct}%, to close at {level} on {date}.",
        "On {date}, the {idx} {move} {pct}% to finish the day at {level}.",
        "The {idx} {move} {pct}% to {level} as traders reacted to {driver}.",
        "The benchmark {idx} {move} {pts} points to end at {level}.",
    ],
    [
        "{date}，{idx}{move}{pts}點或{pct}%，收報{level}點。",
        "{idx}{date}{move}{pct}%，收市報{level}點。",
        "受{driver}影響，{idx}{move}{pct}%，以{level}點收市。",
        "{idx}全日{move}{pts}點，收報{level}點。",
    ],
    [
        "{date}，{idx}{move}{pts}点或{pct}%，收于{level}点。",
        "{idx}{date}{move}{pct}%，报收{level}点。",
        "受{driver}影响，{idx}{move}{pct}%，收于{level}点。",
        "{idx}全天{move}{pts}点，收于{level}点。",
    ],
)
MR_TURNOVER = Say(
    [
        "Turnover on the main board came to {turnover}.",
        "Market turnover was {turnover}, {tdir}.",
        "A total of {turnover} changed hands.",
    ],
    ["主板成交額{turnover}。", "大市成交{turnover}，{tdir}。", "全日成交額為{turnover}。"],
    ["主板成交额{turnover}。", "全市成交{turnover}，{tdir}。", "全天成交额为{turnover}。"],
)
MR_SECTORS = Say(
    [
        "{sector_a} stocks led the gains, while {sector_b} names lagged.",
        "Gains in {sector_a} shares were offset by weakness in {sector_b} counters.",
        "Investors rotated into {sector_a} stocks and out of {sector_b}.",
    ],
    [
        "{sector_a}股領漲，{sector_b}股表現落後。",
        "{sector_a}股上升，但{sector_b}股疲弱，抵銷部分升幅。",
        "資金由{sector_b}股流向{sector_a}股。",
    ],
    [
        "{sector_a}股领涨，{sector_b}股表现落后。",
        "{sector_a}股上涨，但{sector_b}股疲弱，抵消部分涨幅。",
        "资金从{sector_b}股流向{sector_a}股。",
    ],
)
MR_MOVER = Say(
    [
        "{co} {m} {p}% to {px}.",
        "Shares of {co} {m} {p}% to close at {px}.",
        "{co} {m} {p}% after {news}.",
    ],
    ["{co}{m}{p}%，收報{px}。", "{co}股價{m}{p}%至{px}。", "{co}{news}，股價{m}{p}%。"],
    ["{co}{m}{p}%，收于{px}。", "{co}股价{m}{p}%至{px}。", "{co}{news}，股价{m}{p}%。"],
)
MR_FLOWS = Say(
    [
        "Southbound investors bought a net {sb} of Hong Kong shares through Stock Connect.",
        "Net southbound inflows via Stock Connect reached {sb}.",
        "Stock Connect southbound net buying totalled {sb}.",
    ],
    [
        "港股通南向資金淨買入{sb}。",
        "南向資金經港股通淨流入{sb}。",
        "內地投資者透過港股通淨買入港股{sb}。",
    ],
    [
        "港股通南向资金净买入{sb}。",
        "南向资金通过港股通净流入{sb}。",
        "内地投资者通过港股通净买入港股{sb}。",
    ],
)
MR_FX = Say(
    [
        "The Hong Kong dollar traded at {hkd} per US dollar and the offshore yuan at {cnh}.",
        "USD/HKD was quoted at {hkd} and USD/CNH at {cnh} in late trade.",
        "In currency markets, a US dollar bought {hkd} Hong Kong dollars or {cnh} yuan offshore.",
    ],
    [
        "美元兌港元報{hkd}，美元兌離岸人民幣報{cnh}。",
        "尾市美元兌港元報{hkd}，美元兌離岸人民幣報{cnh}。",
        "匯市方面，一美元兌{hkd}港元及{cnh}離岸人民幣。",
    ],
    [
        "美元兑港元报{hkd}，美元兑离岸人民币报{cnh}。",
        "尾盘美元兑港元报{hkd}，美元兑离岸人民币报{cnh}。",
        "汇市方面，1美元兑{hkd}港元及{cnh}离岸人民币。",
    ],
)
MR_REGION = Say(
    [
        "Elsewhere in Asia, the {idx2} {move2} {pct2}%.",
        "Regional markets were mixed: the {idx2} {move2} {pct2}%.",
        "Across the region, the {idx2} {move2} {pct2}% to {level2}.",
    ],
    [
        "亞洲其他市場方面，{idx2}{move2}{pct2}%。",
        "區內股市個別發展，{idx2}{move2}{pct2}%。",
        "{idx2}{move2}{pct2}%，收報{level2}點。",
    ],
    [
        "亚洲其他市场方面，{idx2}{move2}{pct2}%。",
        "区内股市涨跌互现，{idx2}{move2}{pct2}%。",
        "{idx2}{move2}{pct2}%，收于{level2}点。",
    ],
)
QUOTE = Say(
    [
        '"{Outlook}," said {analyst}, {role} at {firm}.',
        "{analyst}, {role} at {firm}, said {outlook}.",
        '"{Outlook}," {firm} {role} {analyst} wrote in a note to clients.',
    ],
    [
        "{firm}{role}{analyst}表示：「{outlook}。」",
        "{analyst}（{firm}{role}）認為，{outlook}。",
        "{firm}{role}{analyst}在致客戶的報告中寫道：「{outlook}。」",
    ],
    [
        "{firm}{role}{analyst}表示：“{outlook}。”",
        "{analyst}（{firm}{role}）认为，{outlook}。",
        "{firm}{role}{analyst}在致客户的报告中写道：“{outlook}。”",
    ],
)


def _market_report(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    up = r() < 0.55
    f.put("date", any_date(rng, business_day(rng)))
    idx = f.put("idx", pick(rng, HOME_INDEXES))
    direction(rng, f, "move", up)
    f.en["hmove"] = pick(rng, HEADLINE_UP if up else HEADLINE_DOWN)
    low, high = LEVELS[idx[0]]
    level = low + r() * (high - low)
    p = 0.05 + r() * 3.5
    f.same("pct", f"{p:.2f}")
    f.same("level", f"{level:,.2f}")
    f.same("pts", f"{level * p / 100:,.2f}")
    hkd = BY_CODE["HKD"]
    f.put("turnover", money(rng, hkd, sig(rng, 6e10, 4e11, 4)))
    f.put("tdir", pick(rng, TDIR))
    f.put("driver", pick(rng, DRIVERS))
    a, b = rng.sample(SECTORS, 2)
    f.put("sector_a", a)
    f.put("sector_b", b)
    f.put("sb", money(rng, hkd, sig(rng, 5e8, 3e10, 3)))
    f.same("hkd", f"{7.75 + r() * 0.1:.4f}")
    f.same("cnh", f"{6.85 + r() * 0.5:.4f}")
    idx2 = f.put("idx2", pick(rng, INDEXES[3:]))
    direction(rng, f, "move2", r() < 0.5)
    f.same("pct2", pct(rng, 0.05, 2.5, 2))
    low, high = LEVELS[idx2[0]]
    f.same("level2", f"{low + r() * (high - low):,.2f}")
    quote_outlook(rng, f)
    blocks = [
        MR_TITLE(rng, f),
        para(rng, f, [MR_CLOSE, MR_TURNOVER] + ([MR_REGION] if chance(rng, 0.5) else [])),
    ]
    movers = [MR_SECTORS(rng, f)]
    for _ in range(1 + int(r() * 3)):
        f.put("co", company(rng)[1])
        gain = r() < 0.5
        direction(rng, f, "m", gain)
        f.same("p", pct(rng, 0.2, 12.0, 1))
        f.put("px", price(hkd, int(sig(rng, 50, 80000, 3))))
        f.put("news", pick(rng, NEWS_UP if gain else NEWS_DOWN))
        movers.append(MR_MOVER(rng, f))
    blocks.append(glue(movers))
    if chance(rng, 0.6):
        blocks.append(para(rng, f, [MR_FLOWS, MR_FX]))
    if chance(rng, 0.7):
        blocks.append(QUOTE(rng, f))
    return blocks


KINDS = {"market-report": _market_report}
