"""Logistics documents: warehouse and cold-chain telemetry notes, and shipment exception /
cargo claim reports."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, form, pick, table
from sovtrain_synth.lexicon.companies import company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.names import ROLES, person
from sovtrain_synth.lexicon.numbers import (
    amount,
    any_date,
    awb_no,
    clock,
    currency,
    date,
    day,
    digits,
    later,
    letters,
    money,
)
from sovtrain_synth.lexicon.places import facility
from sovtrain_synth.lexicon.terms_logistics import EXCEPTIONS, PACKAGES, WAREHOUSE_TERMS

ZONES = table(
    """
cold room|凍房|冷库
chiller room|冷藏房|冷藏间
ambient zone|常溫區|常温区
pharmaceutical cold room|藥品凍房|药品冷库
"""
)
EQUIPMENT = [t for t in WAREHOUSE_TERMS if t[0] in {
    "compressor", "electric forklift", "dock door", "sorter", "conveyor", "RFID gate",
    "temperature logger", "humidity sensor", "automated guided vehicle",
}]  # fmt: skip
DOORS = table(
    """
closed|關閉|关闭
open|開啟|开启
"""
)
HEADER = table(
    """
Site|倉庫|仓库
Zone|區域|区域
Set point|設定溫度|设定温度
Reporting period|報告時段|报告时段
"""
)
TEL_TITLE = Say(
    [
        "Telemetry summary: {site}, {date}",
        "Cold-chain monitoring note - {site}",
        "Warehouse sensor report, {zone}, {date}",
    ],
    ["遙測摘要：{site}（{date}）", "冷鏈監察記錄－{site}", "倉庫感應器報告：{zone}（{date}）"],
    ["遥测摘要：{site}（{date}）", "冷链监控记录－{site}", "仓库传感器报告：{zone}（{date}）"],
)
TEL_SUMMARY = Say(
    [
        "Average temperature over the period was {avg} °C against a set point of {sp} °C.",
        "{excursions} excursions above the {limit} °C alarm threshold were recorded, the longest "
        "lasting {dur} minutes.",
        "Occupancy reached {occ}%, with {inb} pallets received and {outb} dispatched.",
        "The {equip} in the {zone} reported a fault at {time} and was reset by {tech}.",
    ],
    [
        "報告時段內平均溫度為{avg}°C，設定溫度為{sp}°C。",
        "錄得{excursions}次溫度超出{limit}°C警報上限，最長一次持續{dur}分鐘。",
        "使用率達{occ}%，共收貨{inb}卡板、出貨{outb}卡板。",
        "{zone}的{equip}於{time}報告故障，已由{tech}重設。",
    ],
    [
        "报告时段内平均温度为{avg}°C，设定温度为{sp}°C。",
        "共记录{excursions}次温度超出{limit}°C报警上限，最长一次持续{dur}分钟。",
        "库容利用率达{occ}%，共收货{inb}托、出货{outb}托。",
        "{zone}的{equip}于{time}报告故障，已由{tech}复位。",
    ],
)
TEL_ACTION = Say(
    [
        "Stock of {goods} in the affected zone was placed on quality hold pending review.",
        "Maintenance of the {equip} has been scheduled for {mdate}.",
        "The defrost cycle was rescheduled to reduce door-open time during peak picking.",
        "No product was affected, and the warehouse management system has been updated.",
    ],
    [
        "受影響區域內的{goods}存貨已暫停出貨，等待品質檢查。",
        "{equip}已安排於{mdate}進行維修保養。",
        "除霜周期已重新安排，以減少揀貨高峰期的開門時間。",
        "產品未受影響，倉庫管理系統已更新。",
    ],
    [
        "受影响区域内的{goods}库存已冻结，等待质量检验。",
        "{equip}已安排于{mdate}进行维修保养。",
        "除霜周期已重新安排，以减少拣货高峰期的开门时间。",
        "产品未受影响，仓库管理系统已更新。",
    ],
)


def _warehouse(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    d = day(rng)
    site = f.put("site", facility(rng))
    _hs, tag, name = goods(rng, cold=True)
    frozen = tag == "f"
    zone_kind = pick(rng, ZONES[:1] if frozen else ZONES[1:])
    code = f"{letters(rng, 1)}{1 + int(r() * 9)}"
    zone = f.put(
        "zone", (f"{zone_kind[0]} {code}", f"{code}{zone_kind[1]}", f"{code}{zone_kind[2]}")
    )
    sp = -20.0 if frozen else (20.0 if "ambient" in zone_kind[0] else 4.0)
    f.same("sp", f"{sp:.1f}")
    f.same("limit", f"{sp + 3:.1f}")
    f.put("date", date(d, pick(rng, ("long", "abbr", "us"))))
    f.put("goods", name)
    f.put("equip", pick(rng, EQUIPMENT))
    f.put("time", clock(rng))
    f.put("tech", person(rng))
    f.put("mdate", date(later(d, 1 + int(r() * 10))))
    f.same("excursions", str(2 + int(r() * 6)))
    f.same("dur", str(5 + int(r() * 90)))
    f.same("occ", str(55 + int(r() * 44)))
    f.same("inb", f"{int(40 + r() * 900):,}")
    f.same("outb", f"{int(40 + r() * 900):,}")
    lines, temps, minute = [], [], int(r() * 600)
    for _ in range(3 + int(r() * 6)):
        t = sp + (r() - 0.4) * 5
        temps.append(t)
        h, door = 50 + int(r() * 40), DOORS[1] if r() < 0.15 else DOORS[0]
        ts = f"{d.isoformat()}T{minute // 60 % 24:02d}:{minute % 60:02d}:00+08:00"
        minute += 5 + int(r() * 60)
        sensor = f"TS-{code}-{digits(rng, 2)}"
        lines.append(
            (
                f"{ts}  {sensor}  temperature {t:.1f} °C, humidity {h}%, door {door[0]}",
                f"{ts}  {sensor}  溫度{t:.1f}°C，濕度{h}%，門{door[1]}",
                f"{ts}  {sensor}  温度{t:.1f}°C，湿度{h}%，门{door[2]}",
            )
        )
    f.same("avg", f"{sum(temps) / len(temps):.1f}")
    period = (f"{d.isoformat()} 00:00-23:59",) * 3
    head = form(
        rng,
        list(
            zip(
                HEADER,
                [site, zone, (f"{sp:.1f} °C", f"{sp:.1f}°C", f"{sp:.1f}°C"), period],
                strict=True,
            )
        ),
    )
    readings = (
        "\n".join(x[0] for x in lines),
        "\n".join(x[1] for x in lines),
        "\n".join(x[2] for x in lines),
    )
    manager = person(rng)
    return [
        TEL_TITLE(rng, f),
        head,
        ("Readings:\n" + readings[0], "讀數：\n" + readings[1], "读数：\n" + readings[2]),
        TEL_SUMMARY.several(rng, f, 2 + int(r() * 3)),
        TEL_ACTION.several(rng, f, 1 + int(r() * 2)),
        (f"Duty manager: {manager[0]}", f"當值經理：{manager[1]}", f"值班经理：{manager[2]}"),
    ]


EXC = table(
    """
Reference|參考編號|参考编号
Shipment|貨件|货件
Consignee|收貨人|收货人
Exception|異常情況|异常情况
Reported|報告時間|报告时间
Handled by|負責人|负责人
"""
)
EXC_STORY = Say(
    [
        "On {date}, the {place} reported an exception on {qty} {pkg} of {goods}: {exception}.",
        "A joint survey with {surveyor} is scheduled for {sdate}.",
        "The consignee has lodged a provisional claim of {claim}.",
        "Photographs and the tally sheet have been filed with the claim.",
        "The carrier's liability is limited under the terms of the bill of lading.",
    ],
    [
        "{date}，{place}報告{goods}{qty}{pkg}出現異常：{exception}。",
        "已安排於{sdate}與{surveyor}進行聯合檢驗。",
        "收貨人已提出{claim}的暫定索償。",
        "照片及理貨單已連同索償文件存檔。",
        "承運人的責任根據提單條款設有上限。",
    ],
    [
        "{date}，{place}报告{goods}{qty}{pkg}出现异常：{exception}。",
        "已安排于{sdate}与{surveyor}进行联合检验。",
        "收货人已提出{claim}的暂定索赔。",
        "照片及理货单已随索赔文件存档。",
        "承运人的责任依据提单条款设有限额。",
    ],
)
NEXT_STEPS = table(
    """
Notify the insurer within three days|於三天內通知保險公司|于三天内通知保险公司
Hold the damaged cargo for inspection|保留受損貨物以供檢驗|保留受损货物以供检验
Issue a notice of claim to the carrier|向承運人發出索償通知|向承运人发出索赔通知
Re-deliver once the consignee confirms|待收貨人確認後重新派送|待收货人确认后重新派送
Correct the HS code and amend the declaration|更正商品編碼並修改報關單|更正商品编码并修改报关单
Download the temperature logger data|下載溫度記錄器數據|下载温度记录仪数据
Update the customer by email|以電郵通知客戶最新情況|通过电子邮件向客户通报最新情况
"""
)
CLAIM_ROLES = [
    x for x in ROLES if x[0] in {"claims handler", "operations manager", "logistics coordinator"}
]


def _exception(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    d = day(rng)
    ref = f"EX-{d.year}-{digits(rng, 5)}"
    _hs, _tag, name = goods(rng)
    exc = pick(rng, EXCEPTIONS)
    pkg = pick(rng, PACKAGES)
    f.put("date", any_date(rng, d))
    f.put("place", facility(rng))
    f.same("qty", str(1 + int(r() * 200)))
    f.put("pkg", pkg)
    f.put("goods", name)
    f.put("exception", exc)
    f.put("surveyor", company(rng, "l")[1])
    f.put("sdate", date(later(d, 1 + int(r() * 5))))
    cur = currency(rng)
    f.put("claim", money(rng, cur, amount(rng, cur, 500, 250_000)))
    shipment = awb_no(rng) if r() < 0.4 else f"{letters(rng, 4)}{digits(rng, 8)}"
    handler, role = person(rng), pick(rng, CLAIM_ROLES)
    when = date(d, "iso")
    t = clock(rng)
    values = [
        (ref,) * 3,
        (shipment,) * 3,
        company(rng, "g")[0],
        exc,
        (f"{when[0]} {t[0]}", f"{when[1]} {t[1]}", f"{when[2]} {t[2]}"),
        (f"{handler[0]}, {role[0]}", f"{role[1]}{handler[1]}", f"{role[2]}{handler[2]}"),
    ]
    title = pick(
        rng,
        [
            (f"Exception report {ref}", f"異常情況報告 {ref}", f"异常情况报告 {ref}"),
            (f"Notice of cargo claim - {ref}", f"貨物索償通知－{ref}", f"货物索赔通知－{ref}"),
            (f"Delivery exception: {shipment}", f"派送異常：{shipment}", f"派送异常：{shipment}"),
        ],
    )
    steps = bullets(rng.sample(NEXT_STEPS, 2 + int(r() * 3)))
    return [
        title,
        form(rng, list(zip(EXC, values, strict=True))),
        EXC_STORY.several(rng, f, 2 + int(r() * 3)),
        ("Next steps:\n" + steps[0], "跟進事項：\n" + steps[1], "后续措施：\n" + steps[2]),
    ]


KINDS = {"warehouse-telemetry": _warehouse, "shipment-exception": _exception}
