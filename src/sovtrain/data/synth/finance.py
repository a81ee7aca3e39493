"""Finance documents: market reports, filings, trade finance, compliance notices."""

from __future__ import annotations

import random

from sovtrain.data.synth.common import MONTHS, Triple, amount, pick

COMPANIES: list[Triple] = [
    ("Harbour Light Holdings", "港灣之光控股", "港湾之光控股"),
    ("Pearl River Logistics", "珠江物流", "珠江物流"),
    ("Victoria Peak Capital", "太平山資本", "太平山资本"),
    ("Kowloon Data Systems", "九龍數據系統", "九龙数据系统"),
    ("Lantau Green Energy", "大嶼山綠色能源", "大屿山绿色能源"),
    ("Shenzhen Bay Semiconductors", "深圳灣半導體", "深圳湾半导体"),
    ("Guangzhou Metro Retail", "廣州都會零售", "广州都会零售"),
    ("Tsing Yi Shipping", "青衣航運", "青衣航运"),
    ("Central Plaza Insurance", "中環廣場保險", "中环广场保险"),
    ("Macau Lotus Hospitality", "澳門蓮花酒店", "澳门莲花酒店"),
    ("Greater Bay Fintech", "大灣區金融科技", "大湾区金融科技"),
    ("Sha Tin Biotech", "沙田生物科技", "沙田生物科技"),
]

SECTORS: list[Triple] = [
    ("banking", "銀行業", "银行业"),
    ("property", "地產業", "地产业"),
    ("logistics", "物流業", "物流业"),
    ("technology", "科技業", "科技业"),
    ("insurance", "保險業", "保险业"),
    ("energy", "能源業", "能源业"),
    ("retail", "零售業", "零售业"),
]

CURRENCIES: list[Triple] = [
    ("HKD", "港元", "港元"),
    ("USD", "美元", "美元"),
    ("CNY", "人民幣", "人民币"),
    ("EUR", "歐元", "欧元"),
]

INDEXES: list[Triple] = [
    ("the Hang Seng Index", "恒生指數", "恒生指数"),
    ("the Hang Seng China Enterprises Index", "恒生中國企業指數", "恒生中国企业指数"),
    ("the CSI 300", "滬深三百指數", "沪深三百指数"),
]

DIRECTIONS: list[Triple] = [
    ("rose", "上升", "上升"),
    ("fell", "下跌", "下跌"),
    ("edged up", "微升", "微升"),
    ("slipped", "輕微回落", "轻微回落"),
]

REASONS: list[Triple] = [
    ("stronger export orders", "出口訂單增加", "出口订单增加"),
    ("higher funding costs", "融資成本上升", "融资成本上升"),
    ("a recovery in tourism", "旅遊業復甦", "旅游业复苏"),
    ("weaker consumer demand", "消費需求疲弱", "消费需求疲弱"),
    ("new regulatory guidance", "新的監管指引", "新的监管指引"),
    ("lower shipping rates", "航運費率下降", "航运费率下降"),
]

INSTRUMENTS: list[Triple] = [
    ("letter of credit", "信用證", "信用证"),
    ("documentary collection", "跟單託收", "跟单托收"),
    ("bank guarantee", "銀行保函", "银行保函"),
    ("supply chain financing facility", "供應鏈融資安排", "供应链融资安排"),
]

GOODS: list[Triple] = [
    ("electronic components", "電子元件", "电子元件"),
    ("frozen seafood", "冷凍海產", "冷冻海产"),
    ("textiles", "紡織品", "纺织品"),
    ("medical devices", "醫療器材", "医疗器材"),
    ("solar panels", "太陽能電池板", "太阳能电池板"),
]

NOTICES: list[Triple] = [
    (
        "customer due diligence must be refreshed for high-risk accounts",
        "高風險賬戶須更新客戶盡職審查",
        "高风险账户须更新客户尽职审查",
    ),
    (
        "suspicious transactions must be reported within two business days",
        "可疑交易須於兩個工作天內舉報",
        "可疑交易须于两个工作日内举报",
    ),
    (
        "cross-border data transfers require a signed standard contract",
        "跨境數據傳輸須簽訂標準合同",
        "跨境数据传输须签订标准合同",
    ),
    (
        "sanctions screening applies to all trade finance counterparties",
        "所有貿易融資交易對手均須進行制裁篩查",
        "所有贸易融资交易对手均须进行制裁筛查",
    ),
]


def _market_report(rng: random.Random) -> list[Triple]:
    idx, way, why = pick(rng, INDEXES), pick(rng, DIRECTIONS), pick(rng, REASONS)
    co, sector = pick(rng, COMPANIES), pick(rng, SECTORS)
    pct, close = f"{rng.uniform(0.1, 4.5):.2f}", f"{rng.randint(15000, 27000):,}"
    vol = amount(rng)
    return [
        (
            f"{idx[0].capitalize()} {way[0]} {pct}% to close at {close} points on {why[0]}.",
            f"{idx[1]}{way[1]}{pct}%，收報{close}點，主要受{why[1]}帶動。",
            f"{idx[2]}{way[2]}{pct}%，收报{close}点，主要受{why[2]}带动。",
        ),
        (
            f"Turnover reached HKD {vol} billion, led by {sector[0]} shares such as {co[0]}.",
            f"成交額達{vol}億港元，{sector[1]}股份如{co[1]}表現突出。",
            f"成交额达{vol}亿港元，{sector[2]}股份如{co[2]}表现突出。",
        ),
    ]


def _filing(rng: random.Random) -> list[Triple]:
    co, cur = pick(rng, COMPANIES), pick(rng, CURRENCIES)
    year, rev, growth = rng.randint(2019, 2026), amount(rng), f"{rng.uniform(-12, 25):.1f}"
    div = f"{rng.uniform(0.05, 2.5):.2f}"
    return [
        (
            f"{co[0]} reported {year} revenue of {cur[0]} {rev} million, a change of {growth}%.",
            f"{co[1]}公佈{year}年度收入為{rev}百萬{cur[1]}，按年變動{growth}%。",
            f"{co[2]}公布{year}年度收入为{rev}百万{cur[2]}，同比变动{growth}%。",
        ),
        (
            f"The board proposed a final dividend of {cur[0]} {div} per share.",
            f"董事會建議派發末期股息每股{div}{cur[1]}。",
            f"董事会建议派发末期股息每股{div}{cur[2]}。",
        ),
    ]


def _trade_finance(rng: random.Random) -> list[Triple]:
    inst, goods, cur = pick(rng, INSTRUMENTS), pick(rng, GOODS), pick(rng, CURRENCIES)
    buyer, seller = rng.sample(COMPANIES, 2)
    value, days = amount(rng), rng.choice([30, 60, 90, 120, 180])
    return [
        (
            f"{buyer[0]} opened a {inst[0]} for {cur[0]} {value} thousand "
            f"to import {goods[0]} from {seller[0]}.",
            f"{buyer[1]}開立{value}千{cur[1]}的{inst[1]}，向{seller[1]}進口{goods[1]}。",
            f"{buyer[2]}开立{value}千{cur[2]}的{inst[2]}，向{seller[2]}进口{goods[2]}。",
        ),
        (
            f"Payment is due {days} days after the bill of lading date.",
            f"款項須於提單日期後{days}天內支付。",
            f"款项须于提单日期后{days}天内支付。",
        ),
    ]


def _compliance(rng: random.Random) -> list[Triple]:
    notice, month, day = pick(rng, NOTICES), rng.randint(1, 12), rng.randint(1, 28)
    year = rng.randint(2024, 2027)
    return [
        (
            f"Compliance notice: from {day} {MONTHS[month - 1]} {year}, {notice[0]}.",
            f"合規通告：自{year}年{month}月{day}日起，{notice[1]}。",
            f"合规通告：自{year}年{month}月{day}日起，{notice[2]}。",
        ),
    ]


KINDS = {
    "market-report": _market_report,
    "filing": _filing,
    "trade-finance": _trade_finance,
    "compliance-notice": _compliance,
}
