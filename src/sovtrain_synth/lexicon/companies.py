"""Fictional company names: brand (HK Cantonese pair, English-style word, district or city)
x industry core x legal suffix, with correct Traditional / Simplified forms.

A few brand pairs that are well-known real names are excluded; every name is a generated
combination and refers to no real entity.
"""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Triple, pick, rows, table
from sovtrain_synth.lexicon.hanzi import to_hans
from sovtrain_synth.lexicon.places import ADDRESS_CITIES, HK_DISTRICTS

# Brand characters: 繁體 | 简体 | HK romanisation | Pinyin
BRAND_CHARS = rows(
    """
永|永|Wing|Yong
泰|泰|Tai|Tai
昌|昌|Cheong|Chang
興|兴|Hing|Xing
發|发|Fat|Fa
利|利|Lee|Li
豐|丰|Fung|Feng
隆|隆|Lung|Long
盛|盛|Shing|Sheng
華|华|Wah|Hua
達|达|Tat|Da
通|通|Tung|Tong
源|源|Yuen|Yuan
寶|宝|Po|Bao
安|安|On|An
恒|恒|Hang|Heng
信|信|Shun|Xin
和|和|Wo|He
福|福|Fook|Fu
祥|祥|Cheung|Xiang
順|顺|Shun|Shun
新|新|Sun|Xin
怡|怡|Yee|Yi
嘉|嘉|Ka|Jia
富|富|Fu|Fu
裕|裕|Yue|Yu
鴻|鸿|Hung|Hong
偉|伟|Wai|Wei
德|德|Tak|De
億|亿|Yik|Yi
聯|联|Luen|Lian
金|金|Kam|Jin
廣|广|Kwong|Guang
滙|汇|Wui|Hui
運|运|Wan|Yun
景|景|King|Jing
耀|耀|Yiu|Yao
中|中|Chung|Zhong
大|大|Tai|Da
萬|万|Man|Wan
茂|茂|Mau|Mao
凱|凯|Hoi|Kai
誠|诚|Shing|Cheng
捷|捷|Chit|Jie
協|协|Hip|Xie
創|创|Chong|Chuang
""",
    4,
)
# Real, well-known pairs that a random draw could otherwise produce.
_BLOCKED = set(
    "永隆 永豐 大新 永安 大昌 新華 中華 大華 華聯 中信 信和 恒隆 合和 利豐 中通 順豐 大通 富達 "
    "怡和 嘉華 恒豐 德昌 中興 華興 創興 廣發 萬達 恒大 聯合 大福 中和 中國 永利 新鴻 大中 "
    "華潤 中聯 大德 大運 大通 永泰 金利 恒生 華安 中安 中達".split()
)
BRAND_PAIRS = [
    (a, b) for a in BRAND_CHARS for b in BRAND_CHARS if a is not b and a[0] + b[0] not in _BLOCKED
]

BRAND_WORDS = table(
    """
Harbour|港灣
Pearl|明珠
Jade|翡翠
Golden Bridge|金橋
Bauhinia|紫荊
Lotus|蓮花
Orchid|蘭花
Phoenix|鳳凰
Kirin|麒麟
Oriental|東方
Pacific Rim|環太平洋
Silk Road|絲路
Sunrise|旭日
Starlight|星光
Crystal|水晶
Sapphire|藍寶石
Maple Leaf|楓葉
Green Pine|青松
Red Sail|紅帆
Lighthouse|燈塔
Compass|羅盤
Horizon|地平線
Meridian|子午線
Coral|珊瑚
Skyline|天際線
Harmony|和諧
Crescent|新月
Summit|巔峰
Azure Sea|碧海
Blue Ocean|藍海
Silver Bay|銀灣
Golden Dragon|金龍
Jade Dragon|玉龍
Greater Bay|大灣區
Victoria|維港
Lion Rock|獅子山
Victoria Peak|太平山
Tai Mo Shan|大帽山
Dragon Gate|龍門
Silver Crane|銀鶴
Emerald Bay|翠灣
Cloud Peak|雲峰
Nova|新星
Quantum|量子
Vertex|頂點
Polaris|北極星
Aurora|極光
Zenith|天頂
Kowloon|九龍
New Territories|新界
"""
)

# tag (f finance, l logistics, g general) | English | 繁體 | 简体 (optional)
_CORES = """
f|Bank|銀行
f|Securities|證券
f|Capital|資本
f|Asset Management|資產管理
f|Investment|投資
f|Insurance|保險
f|Life Assurance|人壽保險
f|Finance|財務|金融
f|Credit|信貸
f|Trust|信託
f|Futures|期貨
f|Fintech|金融科技
f|Payments|支付
f|Leasing|租賃
f|Wealth Management|財富管理
f|Private Equity|私募股權
f|Properties|置業
f|Real Estate|地產
f|Development|發展
f|Reinsurance|再保險
f|Financial Holdings|金融控股
l|Shipping|航運
l|Logistics|物流
l|Freight|貨運
l|Container Lines|貨櫃航運|集装箱航运
l|Terminals|碼頭
l|Ports|港口
l|Warehousing|倉儲
l|Cold Chain|冷鏈
l|Express|速遞|快递
l|Supply Chain|供應鏈
l|Marine|海事
l|Tankers|油輪
l|Bulk Shipping|散貨航運
l|Air Cargo|空運
l|Aviation|航空
l|Forwarding|貨運代理
l|Transport|運輸
l|Customs Services|報關服務
l|Packaging|包裝
l|Storage|貨倉|仓储
l|Tug and Barge|拖船駁運
l|Ship Management|船舶管理
l|Port Services|港口服務
g|Trading|貿易
g|Technology|科技
g|Semiconductors|半導體
g|Electronics|電子
g|Pharmaceuticals|藥業
g|Biotech|生物科技
g|Medical|醫療
g|Textiles|紡織
g|Garments|製衣|制衣
g|Energy|能源
g|New Energy|新能源
g|Solar|太陽能
g|Batteries|電池
g|Foods|食品
g|Seafood|海產
g|Beverages|飲品|饮料
g|Dairy|乳業
g|Retail|零售
g|Hotels|酒店
g|Telecom|電訊|电信
g|Software|軟件
g|Data|數據
g|Engineering|工程
g|Construction|建築
g|Materials|材料
g|Chemicals|化工
g|Metals|金屬
g|Steel|鋼鐵
g|Paper|紙業
g|Furniture|傢俬|家具
g|Motors|汽車
g|Machinery|機械
g|Agriculture|農業
g|Water|水務
g|Environmental|環保
g|Robotics|機械人|机器人
g|Automation|自動化
g|Media|傳媒
g|Consulting|顧問|咨询
g|Watches|鐘錶|钟表
g|Jewellery|珠寶
g|Cosmetics|化妝品
g|Toys|玩具
g|Printing|印刷
g|Plastics|塑膠|塑料
g|Optical|光學
g|Ceramics|陶瓷
g|Healthcare|醫療保健
g|Education|教育
g|Industrial|工業
"""
CORES: dict[str, list[Triple]] = {"f": [], "l": [], "g": []}
for _line in _CORES.strip().splitlines():
    _tag, _en, _hant, *_hans = _line.split("|")
    CORES[_tag].append((_en, _hant, _hans[0] if _hans else to_hans(_hant)))
ALL_CORES = CORES["f"] + CORES["l"] + CORES["g"]

SUFFIXES = table(
    """
Holdings|控股
Group|集團
Limited|有限公司
Company Limited|有限公司
International|國際
International Limited|國際有限公司
Holdings Limited|控股有限公司
Group Limited|集團有限公司
(Hong Kong) Limited|（香港）有限公司
(China) Co., Ltd.|（中國）有限公司
(Asia) Limited|（亞洲）有限公司
Industries|實業
Enterprises|企業
Corporation|公司
"""
)
BANK_SUFFIXES = table(
    """
Limited|有限公司
(Hong Kong) Limited|（香港）有限公司
(China) Limited|（中國）有限公司
(Asia) Limited|（亞洲）有限公司
Corporation|股份有限公司
"""
)

# Districts as brand prefixes, less one that is also a well-known company name.
BRAND_DISTRICTS = [d for d in HK_DISTRICTS if d[0] != "Tai Koo"]
Company = tuple[Triple, Triple]  # (full legal name, short name)


def brand(rng: random.Random, mainland: bool = False) -> Triple:
    r = rng.random()
    if mainland or r < 0.45:
        a, b = pick(rng, BRAND_PAIRS)
        if mainland:
            tail = ("'" if b[3][0] in "AEO" else "") + b[3].lower()
            return (a[3] + tail, a[0] + b[0], a[1] + b[1])
        return (f"{a[2]} {b[2]}", a[0] + b[0], a[1] + b[1])
    if r < 0.8:
        return pick(rng, BRAND_WORDS)
    return pick(rng, BRAND_DISTRICTS)


def company(rng: random.Random, tag: str | None = None) -> Company:
    """A fictional company biased to the domain tag ('f' finance, 'l' logistics)."""
    cores = CORES[tag] if tag and rng.random() < 0.6 else ALL_CORES
    core = pick(rng, cores)
    if rng.random() < 0.25:  # mainland-registered
        city, b = pick(rng, ADDRESS_CITIES), brand(rng, mainland=True)
        shi = "市" if rng.random() < 0.5 else ""
        short = (f"{b[0]} {core[0]}", b[1] + core[1], b[2] + core[2])
        return (
            (
                f"{city[0]} {short[0]} Co., Ltd.",
                f"{city[1]}{shi}{short[1]}有限公司",
                f"{city[2]}{shi}{short[2]}有限公司",
            ),
            short,
        )
    b, suffix = brand(rng), pick(rng, SUFFIXES)
    short = (f"{b[0]} {core[0]}", b[1] + core[1], b[2] + core[2])
    return (f"{short[0]} {suffix[0]}", short[1] + suffix[1], short[2] + suffix[2]), short


def bank(rng: random.Random) -> Company:
    b = brand(rng)
    short = (f"{b[0]} Bank", b[1] + "銀行", b[2] + "银行")
    if rng.random() < 0.4:
        return short, short
    s = pick(rng, BANK_SUFFIXES)
    return (f"{short[0]} {s[0]}", short[1] + s[1], short[2] + s[2]), short
