"""Traded goods with Harmonized System subheadings and handling tags.

Tags: g general, r chilled, f frozen, d dangerous goods, v high value, p pharmaceutical. The
Hong Kong and mainland names differ for many everyday goods (雪櫃/冰箱, 士多啤梨/草莓,
手提電腦/笔记本电脑, 晶片/芯片 ...).
"""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Triple, pick
from sovtrain_synth.lexicon.hanzi import to_hans

# HS subheading | tag | English | 繁體 | 简体 (optional)
_GOODS = """
0302.13|r|fresh Pacific salmon|新鮮太平洋三文魚
0303.89|f|frozen fish|急凍魚|冷冻鱼
0306.17|f|frozen shrimps and prawns|急凍蝦|冷冻虾
0307.22|f|frozen scallops|急凍帶子|冷冻扇贝
0307.43|f|frozen squid|急凍魷魚|冷冻鱿鱼
0308.19|g|dried sea cucumber|乾海參|干海参
0307.87|g|dried abalone|乾鮑魚|干鲍鱼
0410.00|g|edible bird's nest|燕窩|燕窝
0201.30|r|chilled boneless beef|冰鮮去骨牛肉|冷鲜去骨牛肉
0202.30|f|frozen boneless beef|急凍去骨牛肉|冷冻去骨牛肉
0203.29|f|frozen pork|急凍豬肉|冷冻猪肉
0207.14|f|frozen chicken wings|急凍雞翼|冷冻鸡翅
0401.20|r|fresh milk|鮮奶
0402.21|g|milk powder|奶粉
0406.90|r|cheese|芝士|奶酪
0407.21|r|fresh eggs|新鮮雞蛋
0805.10|r|oranges|橙|橙子
0803.90|r|bananas|香蕉
0804.50|r|mangoes|芒果
0810.60|r|fresh durians|新鮮榴槤|新鲜榴莲
0810.10|r|strawberries|士多啤梨|草莓
0806.10|r|table grapes|提子|鲜食葡萄
0808.10|r|apples|蘋果
0809.29|r|cherries|車厘子|樱桃
0901.21|g|roasted coffee beans|烘焙咖啡豆
0902.30|g|black tea|紅茶
0902.10|g|green tea|綠茶
1006.30|g|milled rice|白米|大米
1001.99|g|wheat|小麥
1201.90|g|soya beans|大豆
1511.90|g|refined palm oil|精煉棕櫚油
1507.90|g|soya-bean oil|大豆油
1701.99|g|refined sugar|精煉糖|精制糖
1806.32|g|chocolate bars|朱古力條|巧克力条
1905.31|g|sweet biscuits|甜餅乾
2009.89|r|fruit juice|果汁
2106.90|g|food preparations|食品製劑|食品制剂
2202.10|g|sweetened soft drinks|含糖汽水
2201.10|g|mineral water|礦泉水
2203.00|g|beer|啤酒
2204.21|g|bottled red wine|樽裝紅酒|瓶装红酒
2208.30|g|whisky|威士忌
2402.20|g|cigarettes|香煙|卷烟
2601.11|g|iron ore|鐵礦石
2701.12|g|bituminous coal|煙煤
2709.00|d|crude oil|原油
2710.19|d|marine gas oil|船用輕柴油
2711.11|d|liquefied natural gas|液化天然氣
2836.91|g|lithium carbonate|碳酸鋰
2804.61|g|polysilicon|多晶矽|多晶硅
2805.30|g|rare earth metals|稀土金屬
3002.41|p|vaccines|疫苗
3004.90|p|packaged medicines|已包裝藥品
3304.99|g|skincare products|護膚品
3305.10|g|shampoo|洗髮水
3402.50|g|detergents|清潔劑
3808.91|d|insecticides|殺蟲劑
3901.10|g|polyethylene resin|聚乙烯樹脂
3907.61|g|PET resin|PET樹脂
3920.10|g|plastic film|塑膠薄膜|塑料薄膜
3923.30|g|plastic bottles|塑膠瓶|塑料瓶
3926.90|g|plastic parts|塑膠零件|塑料零件
4011.10|g|car tyres|汽車輪胎
4202.21|v|leather handbags|皮革手袋|皮革手提包
4407.11|g|sawn pine timber|松木鋸材
4802.56|g|printing paper|印刷用紙
4819.10|g|corrugated cartons|瓦通紙箱|瓦楞纸箱
4901.99|g|printed books|印刷書籍
5201.00|g|raw cotton|原棉
5407.61|g|polyester woven fabric|聚酯梭織布|涤纶机织物
6109.10|g|cotton T-shirts|棉質T恤
6110.20|g|cotton sweaters|棉質毛衣
6203.42|g|men's cotton trousers|男裝棉質長褲|男式棉质长裤
6204.43|g|women's synthetic-fibre dresses|女裝合成纖維連身裙|女式合成纤维连衣裙
6302.31|g|cotton bed linen|棉質床單
6402.99|g|rubber-soled footwear|膠底鞋
6403.99|g|leather shoes|皮鞋
6911.10|g|porcelain tableware|瓷餐具
7010.90|g|glass bottles|玻璃瓶
7005.29|g|float glass|浮法玻璃
7108.12|v|gold bullion|金條
7113.19|v|gold jewellery|金飾
7102.39|v|polished diamonds|已切割鑽石
7208.39|g|hot-rolled steel coils|熱軋鋼卷
7308.90|g|steel structures|鋼結構
7318.15|g|bolts and screws|螺栓及螺絲|螺栓和螺钉
7403.11|g|copper cathodes|陰極銅
7601.10|g|aluminium ingots|鋁錠
2523.29|g|Portland cement|波特蘭水泥|硅酸盐水泥
8414.51|g|electric fans|電風扇
8415.10|g|air conditioners|冷氣機|空调
8418.10|g|refrigerators|雪櫃|冰箱
8421.21|g|water purifiers|濾水器|净水器
8443.31|g|multifunction printers|多功能打印機
8450.11|g|washing machines|洗衣機
8471.30|v|laptop computers|手提電腦|笔记本电脑
8471.50|g|servers|伺服器|服务器
8473.30|g|computer parts|電腦零件
8481.80|g|industrial valves|工業閥門
8501.52|g|electric motors|電動機
8502.13|g|diesel generator sets|柴油發電機組
8413.70|g|centrifugal pumps|離心泵
8504.40|g|power adapters|電源適配器
8506.50|d|lithium primary cells|鋰原電池
8507.60|d|lithium-ion batteries|鋰離子電池
8509.40|g|food blenders|攪拌機
8516.31|g|hair dryers|風筒|吹风机
8516.50|g|microwave ovens|微波爐
8516.60|g|rice cookers|電飯煲
8517.13|v|smartphones|智能手機
8517.62|g|network switches|網絡交換機
8518.30|g|headphones|耳機
8523.51|g|solid-state drives|固態硬碟|固态硬盘
8525.89|g|security cameras|監控鏡頭|监控摄像头
8528.72|g|television sets|電視機
8536.69|g|plugs and sockets|電插頭及插座
8537.10|g|switchboard panels|配電控制板
8541.43|g|solar panels|太陽能電池板|光伏组件
8541.41|g|LED components|LED元件
8542.31|v|processors and controllers|處理器及控制器
8542.32|v|memory chips|記憶體晶片|存储芯片
8544.42|g|insulated cables|絕緣電纜
8703.80|g|electric cars|電動車|电动汽车
8708.99|g|vehicle parts|汽車零件
8711.60|g|electric bicycles|電動單車|电动自行车
8712.00|g|bicycles|單車|自行车
8427.10|g|electric forklifts|電動鏟車|电动叉车
8431.49|g|crane parts|起重機零件
8467.21|g|power drills|電鑽
8486.20|v|semiconductor manufacturing equipment|半導體製造設備
9001.10|g|optical fibres|光纖
9018.90|p|medical instruments|醫療器械
9031.80|g|measuring instruments|測量儀器
9032.89|g|automatic controllers|自動控制器
9102.11|v|wrist watches|手錶|手表
9401.61|g|upholstered chairs|軟墊座椅
9403.60|g|wooden furniture|木傢俬|木制家具
9405.40|g|LED lighting|LED燈具
9503.00|g|toys|玩具
9504.50|g|video game consoles|遊戲機
9506.91|g|fitness equipment|健身器材
9619.00|g|disposable diapers|紙尿片|纸尿裤
1211.90|g|Chinese herbal medicine|中藥材
0409.00|g|natural honey|天然蜂蜜
2101.11|g|instant coffee|即溶咖啡|速溶咖啡
1902.30|g|instant noodles|即食麵|方便面
1604.14|g|canned tuna|吞拿魚罐頭|金枪鱼罐头
3824.99|d|chemical preparations|化學製劑|化学制剂
2815.11|d|caustic soda|燒鹼
"""

# (hs, tag, (en, hant, hans))
GOODS: list[tuple[str, str, Triple]] = []
for _line in _GOODS.strip().splitlines():
    _hs, _tag, _en, _hant, *_hans = _line.split("|")
    GOODS.append((_hs, _tag, (_en, _hant, _hans[0] if _hans else to_hans(_hant))))
BY_TAG: dict[str, list[tuple[str, str, Triple]]] = {}
for _g in GOODS:
    BY_TAG.setdefault(_g[1], []).append(_g)
COLD = BY_TAG["r"] + BY_TAG["f"] + BY_TAG["p"]


# HS chapter ranges -> (quantity unit, package) as indices into UNITS and PACKAGES below and in
# terms_logistics.PACKAGES: food by kg in cartons, drinks by litre, metals by tonne in coils ...
_CHAPTER_RULES = [
    (1, 21, "kg", "cartons"),
    (22, 22, "litres", "cartons"),
    (23, 24, "kg", "cartons"),
    (25, 27, "tonnes", "bags"),
    (28, 38, "kg", "drums"),
    (39, 40, "kg", "bags"),
    (41, 43, "pcs", "cartons"),
    (44, 49, "kg", "bales"),
    (50, 63, "pcs", "cartons"),
    (64, 67, "pcs", "cartons"),
    (68, 70, "pcs", "crates"),
    (71, 71, "kg", "cases"),
    (72, 81, "tonnes", "coils"),
    (82, 85, "pcs", "pallets"),
    (86, 89, "pcs", "crates"),
    (90, 97, "pcs", "cartons"),
]


def handling(hs: str) -> tuple[str, str]:
    """(quantity unit, package) that suit goods under this HS code."""
    chapter = int(hs[:2])
    for low, high, unit, package in _CHAPTER_RULES:
        if low <= chapter <= high:
            return unit, package
    return "pcs", "cartons"


def goods(rng: random.Random, cold: bool = False) -> tuple[str, str, Triple]:
    """(HS code with national suffix, tag, name)."""
    hs, tag, name = pick(rng, COLD if cold else GOODS)
    suffix = "00" if rng.random() < 0.6 else f"{int(rng.random() * 9) + 1}0"
    return f"{hs}.{suffix}", tag, name
