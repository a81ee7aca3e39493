"""Logistics documents: air cargo waybills with tracking, and cross-boundary trucking trip
reports between Hong Kong and the mainland."""

from __future__ import annotations

import random
from typing import cast

from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, form, pick, table
from sovtrain_synth.lexicon.companies import company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import (
    awb_no,
    clock,
    container_no,
    date,
    day,
    digits,
    flight,
    hk_plate,
    later,
    letters,
)
from sovtrain_synth.lexicon.places import AIRPORTS, CITIES, CONTROL_POINTS, facility
from sovtrain_synth.lexicon.terms_logistics import SPECIAL_HANDLING

AWB = table(
    """
Air waybill No.|空運提單號碼|航空运单号
Shipper|託運人|托运人
Consignee|收貨人|收货人
Airport of departure|起運機場|始发机场
Airport of destination|目的地機場|目的机场
Flight / date|航班／日期|航班/日期
Pieces|件數|件数
Gross weight|毛重
Chargeable weight|計費重量|计费重量
Nature of goods|貨物品名|货物品名
Special handling|特殊處理代碼|特殊操作代码
Declared value for carriage|運輸申報價值|运输声明价值
"""
)
TRACK = table(
    """
Booked on {flight}|已訂艙{flight}|已订舱{flight}
Received at the {origin_code} cargo terminal|已於{origin}貨站收貨|已在{origin}货站收货
Security screening completed|已完成安檢|已完成安检
Departed {origin_code} on {flight}|已由{origin}起飛（{flight}）|已从{origin}起飞（{flight}）
Arrived at {dest_code}|已抵達{dest}|已抵达{dest}
Customs cleared|已清關|已清关
Out for delivery|派送中|派送中
Delivered to consignee|已交付收貨人|已交付收货人
"""
)
# Goods tag -> suitable special handling codes (indices into SPECIAL_HANDLING).
SHC_FOR = {"r": (0, 3), "f": (0, 3), "p": (2,), "d": (1, 4), "v": (5,), "g": (8, 8, 6)}
AIR_NOTE = Say(
    [
        "The shipment was kept between {lo} °C and {hi} °C throughout transit.",
        "The consignment of {pieces} pieces, {kg} kg chargeable, moved on {flight} from {origin} "
        "to {dest}.",
        "Transit via {via} added {hours} hours because of {event}.",
        "Rates are quoted at {rate} per kg, all-in, including fuel and security surcharges.",
    ],
    [
        "貨物全程溫度控制在{lo}°C至{hi}°C之間。",
        "該批{pieces}件、計費重量{kg}公斤的貨物經{flight}由{origin}運往{dest}。",
        "因{event}，經{via}轉運延長了{hours}小時。",
        "運價為每公斤{rate}，已包括燃油及保安附加費。",
    ],
    [
        "货物全程温度控制在{lo}°C至{hi}°C之间。",
        "该批{pieces}件、计费重量{kg}千克的货物经{flight}由{origin}运往{dest}。",
        "因{event}，经{via}中转延长了{hours}小时。",
        "运价为每千克{rate}，已包含燃油及安检附加费。",
    ],
)
AIR_EVENTS = table(
    """
a missed connection|錯過接駁航班|错过衔接航班
offloading for weight and balance|因載重平衡被拉貨|因配载平衡被拉货
a late inbound flight|前序航班延誤|前序航班延误
thunderstorms at the hub|樞紐機場雷暴|枢纽机场雷暴
a ground handling backlog|地勤處理積壓|地面操作积压
"""
)


def _air_cargo(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    (orig, ocode), (dest, dcode) = [(p[1:], p[0]) for p in rng.sample(AIRPORTS, 2)]
    via = pick(rng, AIRPORTS)
    fl = f.same("flight", flight(rng))
    f.put("origin", (orig[0], orig[1], orig[2]))
    f.put("dest", (dest[0], dest[1], dest[2]))
    f.same("origin_code", ocode)
    f.same("dest_code", dcode)
    f.put("via", (via[1], via[2], via[3]))
    hs, tag, name = goods(rng, cold=r() < 0.3)
    pieces = 1 + int(r() * 300)
    kg = pieces * (3 + r() * 60)
    chargeable = max(kg, kg * (0.8 + r() * 0.9))
    f.same("pieces", str(pieces))
    f.same("kg", f"{chargeable:,.1f}")
    f.same("lo", "2" if tag != "f" else "-25")
    f.same("hi", "8" if tag != "f" else "-18")
    f.same("hours", str(2 + int(r() * 30)))
    f.put("event", pick(rng, AIR_EVENTS))
    f.same("rate", f"US${1.5 + r() * 6:.2f}")
    flown = day(rng)
    shc = SPECIAL_HANDLING[pick(rng, SHC_FOR[tag])]
    shipper, consignee = company(rng, "g")[0], company(rng, "g")[0]
    values = [
        (awb_no(rng),) * 3,
        shipper,
        consignee,
        (f"{orig[0]} ({ocode})", f"{orig[1]}（{ocode}）", f"{orig[2]}（{ocode}）"),
        (f"{dest[0]} ({dcode})", f"{dest[1]}（{dcode}）", f"{dest[2]}（{dcode}）"),
        tuple(f"{fl} / {d}" for d in date(flown, "abbr")),
        (str(pieces),) * 3,
        (f"{kg:,.1f} kg", f"{kg:,.1f}公斤", f"{kg:,.1f}千克"),
        (f"{chargeable:,.1f} kg", f"{chargeable:,.1f}公斤", f"{chargeable:,.1f}千克"),
        (f"{name[0]} (HS {hs})", f"{name[1]}（商品編碼{hs}）", f"{name[2]}（商品编码{hs}）"),
        shc,
        ("NVD", "無申報價值", "无声明价值"),
    ]
    steps = TRACK[: 3 + int(r() * (len(TRACK) - 2))]
    events, minute = [], int(r() * 600)
    for step in steps:
        when = later(flown, minute // 1440)
        t = f"{when.isoformat()} {minute % 1440 // 60:02d}:{minute % 60:02d}"
        minute += 20 + int(r() * 400)
        events.append(
            cast(
                Triple,
                tuple(
                    f"{t} {s.format_map(d)}"
                    for s, d in zip(step, (f.en, f.hant, f.hans), strict=True)
                ),
            )
        )
    track = bullets(events, numbered=False)
    title = pick(
        rng,
        [
            (f"Air waybill {values[0][0]}", f"空運提單 {values[0][0]}", f"航空运单 {values[0][0]}"),
            (
                f"Air cargo status: {values[0][0]}",
                f"空運貨物狀態：{values[0][0]}",
                f"空运货物状态：{values[0][0]}",
            ),
        ],
    )
    return [
        title,
        form(rng, [x for x in zip(AWB, values, strict=True) if r() < 0.9]),
        ("Tracking:\n" + track[0], "追蹤記錄：\n" + track[1], "跟踪记录：\n" + track[2]),
        AIR_NOTE.several(rng, f, 1 + int(r() * 3)),
    ]


TRIP = table(
    """
Trip reference|行程編號|行程编号
Haulier|運輸公司|运输公司
Driver|司機|司机
Vehicle|車輛|车辆
Control point|管制站|口岸
Origin|起點|起点
Destination|目的地
Container No.|貨櫃號碼|集装箱号
e-manifest reference|電子貨物艙單編號|电子舱单编号
"""
)
TRIP_NOTE = Say(
    [
        "The truck left {origin} at {t1} and cleared {cp} at {t2}.",
        "Queueing at {cp} took {mins} minutes because of {event}.",
        "The container was delivered to {dest} at {t3} ({late}).",
        "The driver's working hours stayed within the company limit of {limit} hours.",
        "Seal {seal} was checked intact at both checkpoints.",
    ],
    [
        "貨車於{t1}由{origin}出發，{t2}通過{cp}。",
        "因{event}，在{cp}輪候了{mins}分鐘。",
        "貨櫃於{t3}送抵{dest}（{late}）。",
        "司機工作時數在公司規定的{limit}小時上限之內。",
        "封條{seal}在兩個關口檢查時均完好無損。",
    ],
    [
        "货车于{t1}从{origin}出发，{t2}通过{cp}。",
        "因{event}，在{cp}排队{mins}分钟。",
        "集装箱于{t3}送达{dest}（{late}）。",
        "司机工作时长在公司规定的{limit}小时上限之内。",
        "关封{seal}在两个关口检查时均完好无损。",
    ],
)
ROAD_EVENTS = table(
    """
a system upgrade at the control point|管制站系統升級|口岸系统升级
heavy traffic on the approach road|連接路交通繁忙|连接道路交通繁忙
a random customs check|海關隨機抽查|海关随机抽查
a vehicle breakdown in the queue|車龍中有車輛故障|车队中有车辆故障
heavy rain|大雨
a shift change at the control point|管制站換更|口岸换班
the holiday peak|節日高峰期|节假日高峰
"""
)


def _trucking(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    north = r() < 0.5
    hk_site, cn_city = facility(rng, hk=True), pick(rng, CITIES[:13])
    cn_site = (
        f"{cn_city[0]} bonded logistics park",
        f"{cn_city[1]}保稅物流園",
        f"{cn_city[2]}保税物流园",
    )
    origin, dest = (hk_site, cn_site) if north else (cn_site, hk_site)
    f.put("origin", origin)
    f.put("dest", dest)
    cp = f.put("cp", pick(rng, CONTROL_POINTS))
    start = 5 + int(r() * 14)
    f.put("t1", clock(rng, start))
    f.put("t2", clock(rng, min(23, start + 1 + int(r() * 2))))
    f.put("t3", clock(rng, min(23, start + 2 + int(r() * 3))))
    f.same("mins", str(10 + int(r() * 170)))
    f.put("event", pick(rng, ROAD_EVENTS))
    late = int(r() * 120)
    f.put(
        "late",
        ("on schedule", "準時", "准时")
        if late < 20
        else (f"{late} minutes late", f"延誤{late}分鐘", f"延误{late}分钟"),
    )
    f.same("limit", str(pick(rng, (10, 11, 12))))
    f.same("seal", f"HK{digits(rng, 7)}")
    driver, haulier = person(rng), company(rng, "l")[0]
    hk, cn = hk_plate(rng), letters(rng, 1) + digits(rng, 3)
    ref = f"CB{day(rng).year}{digits(rng, 6)}"
    ctn = container_no(rng)
    values = [
        (ref,) * 3,
        haulier,
        driver,
        (f"{hk} / Guangdong Z-{cn} (HK)", f"{hk}／粵Z·{cn}港", f"{hk}/粤Z·{cn}港"),
        cp,
        origin,
        dest,
        (ctn,) * 3,
        (f"RC{digits(rng, 10)}",) * 3,
    ]
    title = pick(
        rng,
        [
            (
                f"Cross-boundary trip report {ref}",
                f"跨境運輸行程報告 {ref}",
                f"跨境运输行程报告 {ref}",
            ),
            (f"Trip log: {cp[0]}", f"行程記錄：{cp[1]}", f"行程记录：{cp[2]}"),
        ],
    )
    blocks = [title, form(rng, list(zip(TRIP, values, strict=True)))]
    blocks.append(TRIP_NOTE.several(rng, f, 2 + int(r() * 3)))
    return blocks


KINDS = {"air-cargo": _air_cargo, "cross-boundary-trucking": _trucking}
