"""Places: Hong Kong districts, Greater Bay Area and mainland cities, world ports, airports,
countries, land boundary control points, and compositional street addresses."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Triple, pick, table
from sovtrain_synth.lexicon.hubs import AIRPORTS, FOREIGN_PORTS, HOME_PORTS, PORTS

HK_DISTRICTS = table(
    """
Central|中環
Admiralty|金鐘
Sheung Wan|上環
Wan Chai|灣仔
Causeway Bay|銅鑼灣
North Point|北角
Quarry Bay|鰂魚涌
Tai Koo|太古
Chai Wan|柴灣
Aberdeen|香港仔
Wong Chuk Hang|黃竹坑
Ap Lei Chau|鴨脷洲
Pok Fu Lam|薄扶林
Cyberport|數碼港
Happy Valley|跑馬地
Mid-Levels|半山
Stanley|赤柱
Tsim Sha Tsui|尖沙咀
Jordan|佐敦
Yau Ma Tei|油麻地
Mong Kok|旺角
Prince Edward|太子
Sham Shui Po|深水埗
Cheung Sha Wan|長沙灣
Lai Chi Kok|荔枝角
Mei Foo|美孚
Hung Hom|紅磡
To Kwa Wan|土瓜灣
Kowloon City|九龍城
Kowloon Tong|九龍塘
Kai Tak|啟德
San Po Kong|新蒲崗
Wong Tai Sin|黃大仙
Diamond Hill|鑽石山
Kowloon Bay|九龍灣
Ngau Tau Kok|牛頭角
Kwun Tong|觀塘
Lam Tin|藍田
Yau Tong|油塘
Tseung Kwan O|將軍澳
Sai Kung|西貢
Sha Tin|沙田
Fo Tan|火炭
Tai Wai|大圍
Ma On Shan|馬鞍山
Tai Po|大埔
Fanling|粉嶺
Sheung Shui|上水
Kwai Chung|葵涌
Kwai Fong|葵芳
Tsing Yi|青衣
Tsuen Wan|荃灣
Sham Tseng|深井
Tuen Mun|屯門
Yuen Long|元朗
Tin Shui Wai|天水圍
Kam Tin|錦田
Lok Ma Chau|落馬洲
Tung Chung|東涌
Chek Lap Kok|赤鱲角
Discovery Bay|愉景灣
Lantau|大嶼山
Siu Ho Wan|小蠔灣
Ta Kwu Ling|打鼓嶺
Kwu Tung|古洞
"""
)

# The first 13 are in the Greater Bay Area.
CITIES = table(
    """
Shenzhen|深圳
Guangzhou|廣州
Dongguan|東莞
Foshan|佛山
Zhuhai|珠海
Zhongshan|中山
Jiangmen|江門
Huizhou|惠州
Zhaoqing|肇慶
Macao|澳門
Qianhai|前海
Nansha|南沙
Hengqin|橫琴|横琴
Shanghai|上海
Beijing|北京
Tianjin|天津
Ningbo|寧波
Xiamen|廈門
Qingdao|青島
Dalian|大連
Chongqing|重慶
Chengdu|成都
Wuhan|武漢
Hangzhou|杭州
Suzhou|蘇州
Nanjing|南京
Fuzhou|福州
Changsha|長沙
Xi'an|西安
Zhengzhou|鄭州
Kunming|昆明
Nanning|南寧
Haikou|海口
Shantou|汕頭
Zhanjiang|湛江
Lianyungang|連雲港
Yantai|煙台
Rizhao|日照
Quanzhou|泉州
Wenzhou|溫州
Hefei|合肥
Nanchang|南昌
Jinan|濟南
Shenyang|瀋陽|沈阳
Harbin|哈爾濱
Lanzhou|蘭州
Guiyang|貴陽
Taiyuan|太原
Shijiazhuang|石家莊
Yiwu|義烏
Wuxi|無錫
Changzhou|常州
Nantong|南通
Zhoushan|舟山
Taicang|太倉
Ordos|鄂爾多斯
Urumqi|烏魯木齊
Chongzuo|崇左
Qinzhou|欽州
Beihai|北海
"""
)


COUNTRIES = table(
    """
Hong Kong, China|中國香港|中国香港
mainland China|中國內地|中国内地
Macao, China|中國澳門|中国澳门
Taiwan, China|中國台灣|中国台湾
Japan|日本
South Korea|韓國
Singapore|新加坡
Malaysia|馬來西亞
Thailand|泰國
Vietnam|越南
Indonesia|印尼|印度尼西亚
the Philippines|菲律賓
Cambodia|柬埔寨
Myanmar|緬甸
Bangladesh|孟加拉
India|印度
Sri Lanka|斯里蘭卡
Pakistan|巴基斯坦
the United Arab Emirates|阿聯酋|阿联酋
Saudi Arabia|沙特阿拉伯
Türkiye|土耳其
Egypt|埃及
Kenya|肯尼亞|肯尼亚
South Africa|南非
Nigeria|尼日利亞|尼日利亚
Morocco|摩洛哥
Germany|德國
France|法國
Italy|意大利
Spain|西班牙
the Netherlands|荷蘭
Belgium|比利時
Poland|波蘭
the United Kingdom|英國
Switzerland|瑞士
Sweden|瑞典
Norway|挪威
the United States|美國
Canada|加拿大
Mexico|墨西哥
Brazil|巴西
Chile|智利
Peru|秘魯
Australia|澳洲|澳大利亚
New Zealand|紐西蘭|新西兰
Kazakhstan|哈薩克|哈萨克斯坦
"""
)

# Land boundary control points between Hong Kong and Shenzhen, and the bridge to Zhuhai/Macao.
CONTROL_POINTS = table(
    """
Lok Ma Chau Control Point|落馬洲管制站
Man Kam To Control Point|文錦渡管制站
Shenzhen Bay Control Point|深圳灣管制站
Heung Yuen Wai Control Point|香園圍管制站
Hong Kong-Zhuhai-Macao Bridge Hong Kong Port|港珠澳大橋香港口岸|港珠澳大桥香港口岸
"""
)

TERMINALS = table(
    """
Kwai Tsing Container Terminal 1|葵青貨櫃碼頭一號碼頭|葵青集装箱码头一号码头
Kwai Tsing Container Terminal 4|葵青貨櫃碼頭四號碼頭|葵青集装箱码头四号码头
Kwai Tsing Container Terminal 8 East|葵青貨櫃碼頭八號東碼頭|葵青集装箱码头八号东码头
Kwai Tsing Container Terminal 9 North|葵青貨櫃碼頭九號北碼頭|葵青集装箱码头九号北码头
Tuen Mun River Trade Terminal|屯門內河碼頭|屯门内河码头
Kwai Chung public cargo working area|葵涌公眾貨物裝卸區|葵涌公众货物装卸区
Stonecutters Island mid-stream buoys|昂船洲中流浮泡|昂船洲中流浮筒
Yantian International Container Terminals Phase III|鹽田國際集裝箱碼頭三期|盐田国际集装箱码头三期
Shekou Container Terminal berth 5|蛇口集裝箱碼頭五號泊位|蛇口集装箱码头五号泊位
Nansha Phase IV automated terminal|南沙港四期自動化碼頭|南沙港四期自动化码头
Dachan Bay Terminal|大鏟灣碼頭|大铲湾码头
"""
)

FACILITY_TYPES = table(
    """
cold-chain warehouse|冷鏈倉庫
logistics centre|物流中心
bonded warehouse|保稅倉|保税仓
distribution centre|配送中心
air cargo terminal|空運貨站
container freight station|貨櫃貨運站|集装箱货运站
e-commerce fulfilment centre|電商訂單履行中心
dangerous goods store|危險品倉庫
pharmaceutical warehouse|醫藥倉庫
high-bay warehouse|高架倉庫
consolidation hub|集運中心
cross-dock facility|越庫作業中心
"""
)

STREET_STEMS = table(
    """
Wang Kwong|宏光
Lai Yip|勵業
Hoi Bun|開源
Kwun Tong|觀塘
Hing Yip|興業
Tai Yip|大業
Wai Yip|偉業
Shing Yip|成業
Kin Hong|健康
On Lok|安樂
Tsun Yip|駿業
Kwai Hei|葵喜
Kwai Fung|葵豐
Castle Peak|青山
Texaco|德士古
Container Port|貨櫃碼頭|货柜码头
Chun Yip|振業
Sha Tsui|沙咀
Hing Wah|興華
Science Park|科學園
Dai Fu|大富
Yee Lim|怡林
On Chuen|安全
Kefa|科發
Gaoxin|高新
Huanhai|環海
Gangwan|港灣
Xinglong|興隆
Binhai|濱海
Qianwan|前灣
"""
)
STREET_KINDS = table(
    """
Street|街
Road|道
Road|路
Avenue|大道
Lane|里
"""
)
BUILDING_KINDS = table(
    """
Centre|中心
Industrial Building|工業大廈
Building|大廈
Plaza|廣場
Tower|大樓
Logistics Centre|物流中心
Commercial Building|商業大廈
Industrial Centre|工業中心
"""
)


ADDRESS_CITIES = [c for c in CITIES if c[0] not in ("Macao", "Qianhai", "Nansha", "Hengqin")]


def port(rng: random.Random, home: bool = False, foreign: bool = False) -> Triple:
    p = pick(rng, HOME_PORTS if home else FOREIGN_PORTS if foreign else PORTS)
    return (p[1], p[2], p[3])


def port_with_code(rng: random.Random, home: bool = False) -> tuple[Triple, str]:
    p = pick(rng, HOME_PORTS if home else PORTS)
    return (p[1], p[2], p[3]), p[0]


def airport(rng: random.Random) -> tuple[Triple, str]:
    a = pick(rng, AIRPORTS)
    return (a[1], a[2], a[3]), a[0]


def facility(rng: random.Random, hk: bool = False) -> Triple:
    where = pick(rng, HK_DISTRICTS if hk or rng.random() < 0.7 else CITIES)
    kind = pick(rng, FACILITY_TYPES)
    return (f"{where[0]} {kind[0]}", where[1] + kind[1], where[2] + kind[2])


def any_place(rng: random.Random) -> Triple:
    return pick(rng, HK_DISTRICTS if rng.random() < 0.5 else CITIES)


def address(rng: random.Random, brand: Triple, mainland: bool | None = None) -> Triple:
    """A Hong Kong address (unit, floor, building, number, street, district) or a mainland one."""
    unit, floor, no = (
        int(rng.random() * 30) + 1,
        int(rng.random() * 40) + 1,
        int(rng.random() * 200),
    )
    stem, kind, bkind = pick(rng, STREET_STEMS), pick(rng, STREET_KINDS), pick(rng, BUILDING_KINDS)
    dist = pick(rng, HK_DISTRICTS)
    room = f"{floor:d}{unit:02d}"
    no += 1
    in_hk = rng.random() < 0.75 if mainland is None else not mainland
    if in_hk:
        en = (
            f"Unit {room}, {floor}/F, {brand[0]} {bkind[0]}, {no} {stem[0]} {kind[0]}, {dist[0]}, "
            "Hong Kong"
        )
        hant = f"香港{dist[1]}{stem[1]}{kind[1]}{no}號{brand[1]}{bkind[1]}{floor}樓{room}室"
        hans = f"香港{dist[2]}{stem[2]}{kind[2]}{no}号{brand[2]}{bkind[2]}{floor}楼{room}室"
        return (en, hant, hans)
    city = pick(rng, ADDRESS_CITIES)
    en = f"Room {room}, {brand[0]} {bkind[0]}, No. {no} {stem[0]} Road, {city[0]}, China"
    hant = f"中國{city[1]}市{stem[1]}路{no}號{brand[1]}{bkind[1]}{room}室"
    hans = f"中国{city[2]}市{stem[2]}路{no}号{brand[2]}{bkind[2]}{room}室"
    return (en, hant, hans)


ALL_PLACE_NAMES: list[Triple] = (
    HK_DISTRICTS
    + CITIES
    + [(p[1], p[2], p[3]) for p in PORTS]
    + [(a[1], a[2], a[3]) for a in AIRPORTS]
    + COUNTRIES
    + CONTROL_POINTS
    + TERMINALS
)
