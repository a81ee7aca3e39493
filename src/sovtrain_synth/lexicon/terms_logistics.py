"""Logistics vocabulary: Incoterms, containers, vessels, shipping documents, port and warehouse
terms, surcharges, packaging and disruption events. Hong Kong usage differs from mainland usage
in many of these (貨櫃/集装箱, 卡板/托盘, 鏟車/叉车, 產地來源證/原产地证书 ...)."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Triple, pick, table

INCOTERMS = table(
    """
EXW (Ex Works)|EXW（工廠交貨）|EXW（工厂交货）
FCA (Free Carrier)|FCA（貨交承運人）|FCA（货交承运人）
CPT (Carriage Paid To)|CPT（運費付至）|CPT（运费付至）
CIP (Carriage and Insurance Paid To)|CIP（運費及保險費付至）|CIP（运费和保险费付至）
DAP (Delivered at Place)|DAP（目的地交貨）|DAP（目的地交货）
DPU (Delivered at Place Unloaded)|DPU（卸貨地交貨）|DPU（卸货地交货）
DDP (Delivered Duty Paid)|DDP（完稅後交貨）|DDP（完税后交货）
FAS (Free Alongside Ship)|FAS（船邊交貨）|FAS（船边交货）
FOB (Free on Board)|FOB（船上交貨）|FOB（船上交货）
CFR (Cost and Freight)|CFR（成本加運費）|CFR（成本加运费）
CIF (Cost, Insurance and Freight)|CIF（成本、保險費加運費）|CIF（成本、保险费加运费）
"""
)

CONTAINER_TYPES = table(
    """
20' standard dry container|20呎標準乾貨櫃|20英尺标准干货集装箱
40' standard dry container|40呎標準乾貨櫃|40英尺标准干货集装箱
40' high cube container|40呎高櫃|40英尺高柜
45' high cube container|45呎高櫃|45英尺高柜
20' reefer container|20呎冷凍櫃|20英尺冷藏集装箱
40' high cube reefer|40呎高身冷凍櫃|40英尺高柜冷藏集装箱
20' open top container|20呎開頂櫃|20英尺开顶集装箱
40' flat rack|40呎平板櫃|40英尺框架集装箱
20' ISO tank container|20呎罐式貨櫃|20英尺罐式集装箱
20' ventilated container|20呎通風櫃|20英尺通风集装箱
shipper-owned container|貨主自備櫃|货主自有箱
"""
)

VESSEL_TYPES = table(
    """
container ship|貨櫃船|集装箱船
feeder vessel|支線船|支线船
ultra-large container vessel|超大型貨櫃船|超大型集装箱船
bulk carrier|散貨船
oil tanker|油輪
chemical tanker|化學品船
LNG carrier|液化天然氣運輸船
ro-ro vessel|滾裝船
reefer vessel|冷藏船
general cargo ship|雜貨船
multipurpose vessel|多用途船
car carrier|汽車運輸船
river trade barge|內河貨船|内河货船
"""
)

VESSEL_ADJ = table(
    """
Jade|翡翠
Golden|金色
Silver|銀色
Pacific|太平洋
Sunrise|旭日
Northern|北方
Southern|南方
Pearl|明珠
Azure|蔚藍
Emerald|碧玉
Crimson|赤霞
Harbour|海港
Lantau|大嶼
Bauhinia|紫荊
Orient|東方
Morning|晨曦
Ocean|海洋
Stellar|星河
Jubilee|禧年
Unity|團結
"""
)
VESSEL_NOUNS = table(
    """
Horizon|地平線
Star|之星
Navigator|領航者|领航者
Spirit|精神
Harmony|和諧
Fortune|福運
Voyager|航行者
Dawn|曙光
Crest|浪峰
Wind|長風
Tide|潮汐
Bridge|長橋
Phoenix|鳳凰
Crane|仙鶴
Lotus|蓮花
Glory|榮耀
Promise|承諾
Venture|遠航
Pioneer|先鋒
Courage|勇氣
"""
)

SHIPPING_DOCS = table(
    """
bill of lading|提單
sea waybill|海運單
air waybill|空運提單|航空运单
house bill of lading|分提單
master bill of lading|主提單
commercial invoice|商業發票
packing list|裝箱單
certificate of origin|產地來源證|原产地证书
delivery order|提貨單
cargo manifest|艙單
shipping order|下貨紙|托运单
dock receipt|場站收據
verified gross mass declaration|核實總重量聲明|核实总重声明
dangerous goods declaration|危險品申報單
phytosanitary certificate|植物檢疫證書
health certificate|衞生證書
import licence|進口許可證
export licence|出口許可證
insurance certificate|保險憑證
letter of indemnity|擔保函|保函
arrival notice|到貨通知書|到货通知书
proof of delivery|簽收證明
fumigation certificate|熏蒸證明書|熏蒸证明
inspection certificate|檢驗證書
"""
)

CUSTOMS_TERMS = table(
    """
import declaration|進口報關單
export declaration|出口報關單
transhipment|轉運
re-export|轉口
dutiable commodities|應課稅品|应税商品
customs value|完稅價格
tariff classification|稅則歸類|税则归类
country of origin|原產地
preferential tariff|優惠關稅
anti-dumping duty|反傾銷稅
value-added tax|增值稅
consumption tax|消費稅
bonded logistics|保稅物流
cargo release|貨物放行
physical inspection|開箱查驗
document review|單證審核
Authorized Economic Operator|認可經濟營運商|经认证的经营者
advance cargo information|預先貨物資料|预先货物信息
customs seal|海關封條|海关关封
strategic commodities licence|戰略物資許可證|战略物资许可证
"""
)

PORT_TERMS = table(
    """
berth window|泊位窗口
estimated time of arrival|預計抵達時間|预计抵港时间
estimated time of departure|預計離開時間|预计离港时间
cargo cut-off|截關時間|截关时间
gate-in|入閘|进闸
yard utilisation|堆場使用率|堆场利用率
quay crane|岸邊吊機|岸桥
rubber-tyred gantry crane|輪胎式龍門吊機|轮胎式龙门吊
straddle carrier|跨運車
reach stacker|正面吊運機|正面吊
pilot boarding|領港員登輪|引航员登轮
anchorage|錨地
tug assistance|拖輪協助|拖轮协助
lashing|綁紮
stowage plan|積載圖
bay plan|貝位圖
twistlocks|扭鎖
moves per hour|每小時作業量|每小时作业量
dwell time|堆存時間
demurrage|滯期費
detention|延遲還櫃費|超期用箱费
reefer plug-in|冷凍櫃插電|冷藏箱插电
transhipment volume|轉運貨量
empty repositioning|吉櫃調運|空箱调运
"""
)

SURCHARGES = table(
    """
bunker adjustment factor|燃油附加費
peak season surcharge|旺季附加費
terminal handling charge|碼頭處理費|码头操作费
general rate increase|全面加價|综合涨价
low sulphur surcharge|低硫附加費
emergency bunker surcharge|緊急燃油附加費
war risk surcharge|戰爭險附加費
congestion surcharge|擁擠附加費|拥堵附加费
equipment imbalance surcharge|設備不平衡附加費|设备不平衡附加费
documentation fee|文件費|单证费
"""
)

PACKAGES = table(
    """
cartons|箱
pallets|卡板|托盘
drums|桶
bags|袋
crates|木箱
rolls|卷
bales|包
cases|件
coils|捲|卷
sets|套
"""
)

EVENTS = table(
    """
Typhoon Signal No. 8|八號風球|8号台风信号
a Black Rainstorm Warning|黑色暴雨警告|黑色暴雨预警
an Amber Rainstorm Warning|黃色暴雨警告|黄色暴雨预警
dense fog in the approach channel|航道大霧|航道大雾
berth congestion|泊位擠塞|泊位拥堵
a quay crane breakdown|岸邊吊機故障|岸桥故障
a shortage of reefer plugs|冷凍櫃插座不足|冷藏箱插座不足
a customs inspection hold|海關查驗扣貨|海关查验扣货
a documentation discrepancy|單證不符|单证不符
cargo being rolled to the next sailing|貨物被甩櫃至下一航次|货物被甩柜至下一航次
a shortage of empty containers|吉櫃短缺|空箱短缺
a shortage of chassis|拖架短缺|底盘车短缺
a terminal system outage|碼頭系統故障|码头系统故障
a power failure at the yard|堆場停電|堆场停电
a blank sailing by the carrier|船公司取消航次|船公司停航
vessel bunching after earlier delays|早前延誤導致船舶扎堆抵港|早前延误导致船舶扎堆到港
a labour shortage on the night shift|夜班人手不足|夜班人手短缺
draught restrictions on the river|河道吃水限制
a temperature excursion alarm|溫度超標警報|温度超标警报
a forklift collision in the aisle|通道內鏟車碰撞|通道内叉车碰撞
"""
)

WAREHOUSE_TERMS = table(
    """
cold room|凍房|冷库
chiller room|冷藏房|冷藏间
ambient zone|常溫區|常温区
loading bay|上落貨區|装卸区
dock door|月台門|月台门
racking|貨架
pick face|揀貨位|拣货位
reserve location|儲備貨位|储备货位
warehouse management system|倉庫管理系統
temperature logger|溫度記錄器|温度记录仪
humidity sensor|濕度感應器|湿度传感器
RFID gate|RFID閘門|RFID门
barcode scanner|條碼掃描器|条码扫描器
automated guided vehicle|自動導引車|自动导引车
conveyor|輸送帶|输送带
sorter|分揀機|分拣机
electric forklift|電動鏟車|电动叉车
pallet jack|手推卡板車|手动托盘车
compressor|壓縮機
defrost cycle|除霜周期
"""
)

SPECIAL_HANDLING = table(
    """
PER (perishable)|PER（易腐貨物）|PER（易腐货物）
DGR (dangerous goods)|DGR（危險品）|DGR（危险品）
PIL (pharmaceuticals)|PIL（藥品）|PIL（药品）
COL (cool goods)|COL（冷藏貨物）|COL（冷藏货物）
ELI (lithium ion batteries)|ELI（鋰離子電池）|ELI（锂离子电池）
VAL (valuable cargo)|VAL（貴重貨物）|VAL（贵重货物）
HEA (heavy cargo)|HEA（超重貨物）|HEA（超重货物）
AVI (live animals)|AVI（活生動物）|AVI（活体动物）
GEN (general cargo)|GEN（一般貨物）|GEN（普通货物）
"""
)

EXCEPTIONS = table(
    """
cartons crushed during discharge|卸貨時紙箱被壓損|卸货时纸箱被压损
shortage of packages against the manifest|件數與艙單不符，出現短少|件数与舱单不符，出现短少
water damage from a leaking container roof|貨櫃頂部滲漏導致水濕|集装箱顶部渗漏导致水湿
a broken seal found at the gate|入閘時發現封條破損|进闸时发现铅封破损
temperature above the set point for six hours|溫度高於設定值達六小時|温度高于设定值达六小时
late delivery after a missed connection|錯過轉運航班導致延遲交付|错过中转航班导致延迟交付
wrong HS code on the declaration|報關單上的商品編碼錯誤|报关单上的商品编码错误
consignee unreachable at the delivery address|收貨地址聯絡不到收貨人|收货地址联系不到收货人
"""
)


def vessel(rng: random.Random) -> Triple:
    adj, noun = pick(rng, VESSEL_ADJ), pick(rng, VESSEL_NOUNS)
    prefix = "MV " if rng.random() < 0.6 else ""
    return (f"{prefix}{adj[0]} {noun[0]}", f"「{adj[1]}{noun[1]}號」", f"“{adj[2]}{noun[2]}号”")
