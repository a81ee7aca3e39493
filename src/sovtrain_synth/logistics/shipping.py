"""Logistics documents: ocean bills of lading and customs declarations."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, form, para, pick, table
from sovtrain_synth.lexicon.companies import bank, brand, company
from sovtrain_synth.lexicon.goods import goods, handling
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import (
    amount,
    any_date,
    clock,
    container_no,
    currency,
    date,
    day,
    digits,
    later,
    letters,
    money,
    voyage,
)
from sovtrain_synth.lexicon.places import ADDRESS_CITIES, COUNTRIES, address, port, port_with_code
from sovtrain_synth.lexicon.terms_logistics import CONTAINER_TYPES, INCOTERMS, PACKAGES, vessel

PACKAGE_BY_NAME = {p[0]: p for p in PACKAGES}
UNIT_BY_NAME: dict[str, Triple] = {}
REEFERS = [c for c in CONTAINER_TYPES if "reefer" in c[0]]
DRY = [c for c in CONTAINER_TYPES if "reefer" not in c[0]]
BL = table(
    """
Bill of lading No.|提單號碼|提单号
Shipper|託運人|托运人
Consignee|收貨人|收货人
Notify party|通知方
Vessel / voyage|船名／航次|船名/航次
Port of loading|裝貨港|装货港
Port of discharge|卸貨港|卸货港
Place of delivery|交貨地點|交货地点
Container / seal No.|貨櫃號碼／封條號碼|集装箱号/铅封号
Container type|貨櫃類型|集装箱类型
Number of packages|件數|件数
Description of goods|貨物描述|货物描述
Gross weight|毛重
Measurement|體積|体积
Freight|運費|运费
Place and date of issue|簽發地點及日期|签发地点及日期
Number of original B/Ls|正本提單份數|正本提单份数
"""
)
FREIGHT = table(
    """
Freight prepaid|運費已付|运费预付
Freight collect|運費到付|运费到付
"""
)
ORIGINALS = table(
    """
THREE (3)|三份
TWO (2)|兩份|两份
ONE (1)|一份
"""
)
BL_INTRO = Say(
    [
        "Shipped on board in apparent good order and condition, unless otherwise stated.",
        "Received by the carrier from the shipper the goods described below for carriage to the "
        "port of discharge.",
        "{teu} TEU of {goods} were loaded on {vessel} at {pol} for {pod} on {onboard}.",
    ],
    [
        "除另有註明外，下列貨物已在外表狀況良好下裝船。",
        "承運人已從託運人處收到下列貨物，運往卸貨港。",
        "{teu}個標準箱的{goods}已於{onboard}在{pol}裝上{vessel}，運往{pod}。",
    ],
    [
        "除另有注明外，下列货物已在表面状况良好的情况下装船。",
        "承运人已从托运人处收到下列货物，运往卸货港。",
        "{teu}个标准箱的{goods}已于{onboard}在{pol}装上{vessel}，运往{pod}。",
    ],
)
BL_CLAUSE = Say(
    [
        "The carrier is not responsible for the accuracy of the weight, measure, marks or "
        "contents declared by the shipper.",
        "In witness whereof, the stated number of original bills of lading have been signed, one "
        "of which being accomplished, the others to stand void.",
        "Demurrage and detention are charged according to the carrier's tariff after {free} free "
        "days at destination.",
        "Delivery will only be made against surrender of one original bill of lading, duly "
        "endorsed.",
    ],
    [
        "託運人申報的重量、尺碼、標記及內容，承運人概不負責其準確性。",
        "為證明以上各節，承運人已簽發上述正本提單，其中一份完成提貨後，其餘各份即告失效。",
        "目的港免費期{free}天，逾期按承運人收費表收取滯期費及延遲還櫃費。",
        "收貨人須交回一份經妥為背書的正本提單，方可提貨。",
    ],
    [
        "托运人申报的重量、尺码、标记及内容，承运人对其准确性不负责任。",
        "为证明以上各节，承运人已签发上述正本提单，其中一份完成提货后，其余各份即告失效。",
        "目的港免费期{free}天，逾期按承运人费率表收取滞期费及超期用箱费。",
        "收货人须交回一份经正式背书的正本提单，方可提货。",
    ],
)


def _party(rng: random.Random) -> Triple:
    full, _ = company(rng, "g")
    addr = address(rng, brand(rng), mainland=full[0].endswith("Co., Ltd."))
    return (f"{full[0]}, {addr[0]}", f"{full[1]}，{addr[1]}", f"{full[2]}，{addr[2]}")


def _bill_of_lading(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    hs, tag, name = goods(rng)
    pol, pod = port(rng, home=True), port(rng)
    ship = f.put("vessel", vessel(rng))
    voy = voyage(rng)
    f.put("pol", pol)
    f.put("pod", pod)
    f.put("goods", name)
    teu = 1 + int(r() * 4)
    f.same("teu", str(teu))
    onboard = day(rng)
    f.put("onboard", any_date(rng, onboard))
    f.same("free", str(pick(rng, (3, 5, 7, 10, 14))))
    n, pkg = 10 + int(r() * 3000), PACKAGE_BY_NAME[handling(hs)[1]]
    ctype = pick(rng, REEFERS if tag in "rfp" else DRY)
    weight = n * (2 + r() * 40)
    boxes = "; ".join(
        f"{container_no(rng)} / SL{digits(rng, 7)}" for _ in range(teu if teu < 3 else 2)
    )
    cbm = f"{teu * (20 + r() * 45):.3f}"
    if r() < 0.4:
        b = bank(rng)[0]
        consignee = (f"To order of {b[0]}", f"憑{b[1]}指示", f"凭{b[2]}指示")
    else:
        consignee = _party(rng)
    notify = ("Same as consignee", "同收貨人", "同收货人") if r() < 0.3 else _party(rng)
    issued = date(later(onboard, int(r() * 3)))
    values = [
        (f"{letters(rng, 4)}{digits(rng, 8)}",) * 3,
        _party(rng),
        consignee,
        notify,
        (f"{ship[0]} / {voy}", f"{ship[1]}／{voy}", f"{ship[2]}/{voy}"),
        pol,
        pod,
        pod if r() < 0.6 else pick(rng, ADDRESS_CITIES),
        (boxes,) * 3,
        ctype,
        (f"{n:,} {pkg[0]}", f"{n:,}{pkg[1]}", f"{n:,}{pkg[2]}"),
        (
            f"SAID TO CONTAIN: {n:,} {pkg[0]} of {name[0]}, HS code {hs}",
            f"據稱內裝：{name[1]}{n:,}{pkg[1]}，商品編碼{hs}",
            f"据称内装：{name[2]}{n:,}{pkg[2]}，商品编码{hs}",
        ),
        (f"{weight:,.1f} KGS", f"{weight:,.1f}公斤", f"{weight:,.1f}千克"),
        (f"{cbm} CBM", f"{cbm}立方米", f"{cbm}立方米"),
        pick(rng, FREIGHT),
        (f"{pol[0]}, {issued[0]}", f"{pol[1]}，{issued[1]}", f"{pol[2]}，{issued[2]}"),
        pick(rng, ORIGINALS),
    ]
    fields = [x for x in zip(BL, values, strict=True) if r() < 0.9]
    title = pick(
        rng, [("Bill of lading", "提單", "提单"), ("Ocean bill of lading", "海運提單", "海运提单")]
    )
    return [title, BL_INTRO(rng, f), form(rng, fields), BL_CLAUSE.several(rng, f, 1 + int(r() * 2))]


DECL = table(
    """
Declaration No.|報關單編號|报关单编号
Declarant|報關公司|申报单位
Trader|進出口商|收发货人
Mode of transport|運輸方式
Port|口岸
Trade terms|成交方式
Declaration date|申報日期|申报日期
"""
)
MODES = table(
    """
Sea|海運|水路运输
Air|空運|航空运输
Road|陸路|公路运输
"""
)
UNITS = table(
    """
pcs|件
kg|公斤|千克
sets|套
cartons|箱
litres|公升|升
tonnes|公噸|吨
"""
)
UNIT_BY_NAME.update({u[0]: u for u in UNITS})
TOTAL = Say(
    ["Total declared value: {total}.", "The declared value of the consignment is {total}."],
    ["申報總值：{total}。", "該批貨物的申報價值為{total}。"],
    ["申报总价：{total}。", "该批货物的申报价值为{total}。"],
)
TAX_CN = Say(
    [
        "Duties and taxes assessed: import duty {duty}% and value-added tax {vat}%, totalling "
        "{tax}.",
        "Import duty at {duty}% and VAT at {vat}% came to {tax} in total.",
    ],
    [
        "應繳稅款：進口關稅{duty}%及增值稅{vat}%，合共{tax}。",
        "按{duty}%進口關稅及{vat}%增值稅計算，稅款合共{tax}。",
    ],
    [
        "应缴税款：进口关税{duty}%、增值税{vat}%，合计{tax}。",
        "按{duty}%进口关税及{vat}%增值税计算，税款合计{tax}。",
    ],
)
TAX_HK = Say(
    [
        "No duty is payable, as the goods are not dutiable commodities in Hong Kong.",
        "The goods are not dutiable; the declaration is lodged within 14 days as required.",
    ],
    ["由於貨物並非香港應課稅品，毋須繳付關稅。", "貨物屬非應課稅品，已按規定於14天內遞交報關表。"],
    ["该批货物不属香港应税商品，无需缴纳关税。", "货物属非应税商品，已按规定在14天内提交报关单。"],
)
RESULT = Say(
    [
        "The shipment was released on {release} after document review.",
        "Customs selected container {ctn} for physical inspection; the goods were released at "
        "{time} on {release}.",
        "The declaration was accepted and the cargo was released under the AEO programme.",
    ],
    [
        "貨物經單證審核後於{release}放行。",
        "海關抽選貨櫃{ctn}進行開箱查驗，貨物於{release}{time}放行。",
        "報關單已獲接納，貨物根據認可經濟營運商計劃獲快速放行。",
    ],
    [
        "货物经单证审核后于{release}放行。",
        "海关抽中集装箱{ctn}进行开箱查验，货物于{release}{time}放行。",
        "报关单已获接受，货物依据经认证的经营者制度快速放行。",
    ],
)


def _customs(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    importing = r() < 0.6
    kind = (
        ("Import declaration", "進口報關單", "进口报关单")
        if importing
        else ("Export declaration", "出口報關單", "出口报关单")
    )
    no = f"{'I' if importing else 'E'}{digits(rng, 2)}{digits(rng, 10)}"
    declared = day(rng)
    (pname, code) = port_with_code(rng, home=True)
    mainland = code.startswith("CN")
    mode = pick(rng, MODES)
    cur = currency(rng)
    lines, total = [], 0
    for _ in range(1 + int(r() * 4)):
        hs, _tag, name = goods(rng)
        unit, qty = UNIT_BY_NAME[handling(hs)[0]], 1 + int(r() * 5000)
        value = amount(rng, cur, 500, 400_000)
        total += value
        val, origin = money(rng, cur, value, formal=True), pick(rng, COUNTRIES)
        lines.append(
            (
                f"HS {hs} {name[0]}, {qty:,} {unit[0]}, value {val[0]}, origin {origin[0]}",
                f"商品編碼{hs} {name[1]}，{qty:,}{unit[1]}，價值{val[1]}，原產地{origin[1]}",
                f"商品编码{hs} {name[2]}，{qty:,}{unit[2]}，价值{val[2]}，原产地{origin[2]}",
            )
        )
    f.put("total", money(rng, cur, total, formal=True))
    f.same("duty", f"{pick(rng, (0, 3, 5, 6.5, 8, 10, 12, 15))}")
    f.same("vat", pick(rng, ("9", "13")))
    f.put("tax", money(rng, cur, total * (10 + int(r() * 20)) // 100))
    release = later(declared, int(r() * 3))
    f.put("release", date(release))
    f.put("time", clock(rng))
    f.same("ctn", container_no(rng))
    broker = company(rng, "l")[0]
    values = [
        (no,) * 3,
        broker,
        company(rng, "g")[0],
        mode,
        (f"{pname[0]} ({code})", f"{pname[1]}（{code}）", f"{pname[2]}（{code}）"),
        pick(rng, INCOTERMS),
        date(declared, "iso"),
    ]
    agent = person(rng)
    sign = (
        f"Declared by {agent[0]}, customs broker, for {broker[0]}",
        f"報關員：{agent[1]}（{broker[1]}）",
        f"报关员：{agent[2]}（{broker[2]}）",
    )
    items = bullets(lines)
    taxes = [TAX_CN] if mainland and importing else ([] if mainland else [TAX_HK])
    return [
        (f"{kind[0]} {no}", f"{kind[1]} {no}", f"{kind[2]} {no}"),
        form(rng, list(zip(DECL, values, strict=True))),
        ("Goods:\n" + items[0], "貨物明細：\n" + items[1], "货物明细：\n" + items[2]),
        para(rng, f, [TOTAL, *taxes]),
        RESULT(rng, f),
        sign,
    ]


KINDS = {"bill-of-lading": _bill_of_lading, "customs-declaration": _customs}
