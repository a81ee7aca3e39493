"""Logistics documents: bills of lading, customs declarations, port operations, warehouses."""

from __future__ import annotations

import random

from sovtrain.data.synth.common import MONTHS, Triple, pick

PORTS: list[Triple] = [
    ("Kwai Tsing Container Terminals", "葵青貨櫃碼頭", "葵青货柜码头"),
    ("Yantian Port", "鹽田港", "盐田港"),
    ("Nansha Port", "南沙港", "南沙港"),
    ("Shekou Container Terminal", "蛇口集裝箱碼頭", "蛇口集装箱码头"),
    ("Port of Singapore", "新加坡港", "新加坡港"),
    ("Port of Rotterdam", "鹿特丹港", "鹿特丹港"),
    ("Port of Los Angeles", "洛杉磯港", "洛杉矶港"),
]

VESSELS: list[Triple] = [
    ("MV Jade Horizon", "翡翠地平線號", "翡翠地平线号"),
    ("MV Pearl Navigator", "明珠領航號", "明珠领航号"),
    ("MV Harbour Spirit", "海港精神號", "海港精神号"),
    ("MV Southern Star", "南方之星號", "南方之星号"),
]

CARGO: list[Triple] = [
    ("refrigerated containers of fruit", "冷藏水果貨櫃", "冷藏水果货柜"),
    ("lithium batteries", "鋰電池", "锂电池"),
    ("garments", "成衣", "成衣"),
    ("machine parts", "機械零件", "机械零件"),
    ("pharmaceuticals", "藥品", "药品"),
    ("furniture", "家具", "家具"),
]

WAREHOUSES: list[Triple] = [
    ("Tsing Yi cold-chain warehouse", "青衣冷鏈倉庫", "青衣冷链仓库"),
    ("Chek Lap Kok air cargo centre", "赤鱲角空運貨站", "赤鱲角空运货站"),
    ("Qianhai bonded warehouse", "前海保稅倉", "前海保税仓"),
    ("Tuen Mun logistics hub", "屯門物流中心", "屯门物流中心"),
]

EVENTS: list[Triple] = [
    ("a typhoon signal", "颱風信號", "台风信号"),
    ("berth congestion", "泊位擠塞", "泊位拥堵"),
    ("a customs inspection", "海關查驗", "海关查验"),
    ("a crane maintenance window", "吊機維修時段", "吊机维修时段"),
]


def _bill_of_lading(rng: random.Random) -> list[Triple]:
    vessel, cargo = pick(rng, VESSELS), pick(rng, CARGO)
    origin, dest = rng.sample(PORTS, 2)
    teu, number = rng.randint(1, 480), f"{rng.randint(10**7, 10**8 - 1)}"
    return [
        (
            f"Bill of lading {number}: {teu} TEU of {cargo[0]} loaded on {vessel[0]} "
            f"at {origin[0]} for {dest[0]}.",
            f"提單{number}：{teu}個標準箱{cargo[1]}於{origin[1]}裝上{vessel[1]}，運往{dest[1]}。",
            f"提单{number}：{teu}个标准箱{cargo[2]}于{origin[2]}装上{vessel[2]}，运往{dest[2]}。",
        ),
    ]


def _customs(rng: random.Random) -> list[Triple]:
    cargo, code = pick(rng, CARGO), f"{rng.randint(1000, 9999)}.{rng.randint(10, 99)}"
    value, duty = f"{rng.randint(5, 900)},{rng.randint(100, 999)}", f"{rng.uniform(0, 15):.1f}"
    return [
        (
            f"Customs declaration for {cargo[0]} under HS code {code}, "
            f"declared value HKD {value}, duty rate {duty}%.",
            f"{cargo[1]}報關，協調制度編碼{code}，申報價值{value}港元，稅率{duty}%。",
            f"{cargo[2]}报关，协调制度编码{code}，申报价值{value}港元，税率{duty}%。",
        ),
    ]


def _port_ops(rng: random.Random) -> list[Triple]:
    port, vessel, event = pick(rng, PORTS), pick(rng, VESSELS), pick(rng, EVENTS)
    hours, day, month = rng.randint(2, 36), rng.randint(1, 28), rng.randint(1, 12)
    return [
        (
            f"On {day} {MONTHS[month - 1]}, {vessel[0]} was delayed {hours} hours "
            f"at {port[0]} because of {event[0]}.",
            f"{month}月{day}日，{vessel[1]}因{event[1]}在{port[1]}延誤{hours}小時。",
            f"{month}月{day}日，{vessel[2]}因{event[2]}在{port[2]}延误{hours}小时。",
        ),
    ]


def _warehouse(rng: random.Random) -> list[Triple]:
    site, cargo = pick(rng, WAREHOUSES), pick(rng, CARGO)
    temp, occupancy = f"{rng.uniform(-25, 8):.1f}", rng.randint(40, 99)
    return [
        (
            f"Telemetry at the {site[0]}: {cargo[0]} stored at {temp} °C, occupancy {occupancy}%.",
            f"{site[1]}遙測：{cargo[1]}儲存溫度{temp}°C，使用率{occupancy}%。",
            f"{site[2]}遥测：{cargo[2]}储存温度{temp}°C，使用率{occupancy}%。",
        ),
    ]


KINDS = {
    "bill-of-lading": _bill_of_lading,
    "customs-declaration": _customs,
    "port-operations": _port_ops,
    "warehouse-telemetry": _warehouse,
}
