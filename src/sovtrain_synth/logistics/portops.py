"""Logistics documents: daily port and terminal operations reports, and freight rate
bulletins."""

from __future__ import annotations

import random
from typing import cast

from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, para, pick, table
from sovtrain_synth.lexicon.numbers import clock, date, day, imo_no, later, pct
from sovtrain_synth.lexicon.places import TERMINALS, port
from sovtrain_synth.lexicon.terms_logistics import EVENTS, SURCHARGES, VESSEL_TYPES, vessel

PO_TITLE = Say(
    [
        "Port operations report: {terminal}, {date}",
        "Daily terminal bulletin - {terminal}",
        "Vessel operations update, {date}",
    ],
    ["港口營運報告：{terminal}（{date}）", "每日碼頭通報－{terminal}", "船舶作業動態（{date}）"],
    ["港口运营报告：{terminal}（{date}）", "每日码头通报－{terminal}", "船舶作业动态（{date}）"],
)
PO_SUMMARY = Say(
    [
        "{terminal} handled {moves} moves in the 24 hours to 8 am, with quay crane productivity "
        "averaging {mph} moves per hour.",
        "Yard utilisation stood at {yard}% and {reefers} reefer units were plugged in.",
        "Gate-in transactions totalled {gates}, with an average truck turnaround of {turn} "
        "minutes.",
        "Transhipment accounted for {tship}% of the volume handled.",
    ],
    [
        "{terminal}截至上午8時的24小時內共處理{moves}個吊運，岸邊吊機平均每小時作業{mph}次。",
        "堆場使用率為{yard}%，共有{reefers}個冷凍櫃接駁電源。",
        "入閘交易共{gates}宗，貨車平均周轉時間為{turn}分鐘。",
        "轉運貨量佔處理總量的{tship}%。",
    ],
    [
        "{terminal}截至上午8时的24小时内共完成{moves}个自然箱作业，岸桥平均每小时作业{mph}次。",
        "堆场利用率为{yard}%，共有{reefers}个冷藏箱插电。",
        "进闸作业共{gates}次，集卡平均周转时间为{turn}分钟。",
        "中转箱量占作业总量的{tship}%。",
    ],
)
PO_DELAY = Say(
    [
        "{vessel} was delayed {hours} hours at the anchorage because of {event}.",
        "Because of {event}, berthing of {vessel} was pushed back to {newtime}.",
        "{event} disrupted operations for {hours} hours; affected vessels are being resequenced.",
    ],
    [
        "{vessel}因{event}在錨地延誤{hours}小時。",
        "受{event}影響，{vessel}靠泊時間延至{newtime}。",
        "{event}令作業中斷{hours}小時，受影響船舶正重新排序。",
    ],
    [
        "{vessel}因{event}在锚地延误{hours}小时。",
        "受{event}影响，{vessel}靠泊时间推迟至{newtime}。",
        "{event}导致作业中断{hours}小时，受影响船舶正在重新排序。",
    ],
)
PO_ADVICE = Say(
    [
        "Cargo cut-off for {vessel2} is {cutoff}.",
        "Shippers are reminded to submit verified gross mass declarations before gate-in.",
        "Empty container returns are suspended at {terminal} until further notice.",
        "Pilot boarding will resume once visibility exceeds 1,000 metres.",
    ],
    [
        "{vessel2}截關時間為{cutoff}。",
        "提醒付貨人須於入閘前提交核實總重量聲明。",
        "{terminal}暫停接收吉櫃，直至另行通知。",
        "能見度回升至1,000米以上後，領港員將恢復登輪。",
    ],
    [
        "{vessel2}截关时间为{cutoff}。",
        "提醒托运人须在进闸前提交核实总重声明。",
        "{terminal}暂停接收空箱，直至另行通知。",
        "能见度回升至1,000米以上后，引航员将恢复登轮。",
    ],
)


def _port_ops(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    d = day(rng)
    f.put("date", date(d, pick(rng, ("long", "abbr", "us"))))
    f.put("terminal", pick(rng, TERMINALS))
    f.same("moves", f"{int(2000 + r() * 18000):,}")
    f.same("mph", str(18 + int(r() * 22)))
    f.same("yard", str(55 + int(r() * 40)))
    f.same("reefers", f"{int(200 + r() * 3000):,}")
    f.same("gates", f"{int(1500 + r() * 12000):,}")
    f.same("turn", str(20 + int(r() * 50)))
    f.same("tship", str(30 + int(r() * 40)))
    f.same("hours", str(2 + int(r() * 30)))
    f.put("event", pick(rng, EVENTS))
    f.put("newtime", clock(rng))
    calls = []
    for i in range(2 + int(r() * 4)):
        v, vt = vessel(rng), pick(rng, VESSEL_TYPES)
        if i == 0:
            f.put("vessel", v)
        if i == 1:
            f.put("vessel2", v)
        imo, berth = imo_no(rng), 1 + int(r() * 24)
        eta, etd = clock(rng), clock(rng)
        dis, load = int(r() * 3000), int(r() * 3000)
        calls.append(
            (
                f"{v[0]} ({vt[0]}, {imo}), berth {berth}: ETA {eta[0]}, ETD {etd[0]}, "
                f"discharge {dis:,} / load {load:,}",
                f"{v[1]}（{vt[1]}，{imo}），{berth}號泊位：預計抵達{eta[1]}，預計離開{etd[1]}，"
                f"卸{dis:,}箱／裝{load:,}箱",
                f"{v[2]}（{vt[2]}，{imo}），{berth}号泊位：预计抵港{eta[2]}，预计离港{etd[2]}，"
                f"卸{dis:,}箱/装{load:,}箱",
            )
        )
    cut = later(d, 1 + int(r() * 3))
    f.put(
        "cutoff",
        cast(
            Triple,
            tuple(f"{c} {t}" for c, t in zip(date(cut, "abbr"), ("12:00",) * 3, strict=True)),
        ),
    )
    listed = bullets(calls, numbered=False)
    return [
        PO_TITLE(rng, f),
        PO_SUMMARY.several(rng, f, 2 + int(r() * 3)),
        ("Vessel calls:\n" + listed[0], "船舶動態：\n" + listed[1], "船舶动态：\n" + listed[2]),
        para(rng, f, [PO_DELAY]),
        PO_ADVICE.several(rng, f, 1 + int(r() * 2)),
    ]


LANES = table(
    """
Asia-North Europe|亞洲至北歐|亚洲—北欧
transpacific eastbound|跨太平洋東行|跨太平洋东行
Asia-Mediterranean|亞洲至地中海|亚洲—地中海
intra-Asia|亞洲區內|亚洲区内
Asia-Middle East|亞洲至中東|亚洲—中东
Asia-East Coast South America|亞洲至南美東岸|亚洲—南美东岸
Asia-Australia|亞洲至澳洲|亚洲—澳大利亚
Asia-West Africa|亞洲至西非|亚洲—西非
"""
)
REASONS = table(
    """
strong pre-holiday demand|節前需求強勁|节前需求强劲
new capacity entering the market|新運力投入市場|新运力投放市场
weak demand after the peak season|旺季過後需求疲弱|旺季过后需求疲软
diversions around the Cape of Good Hope|船隻改道繞行好望角|船舶改道绕行好望角
port congestion in northern Europe|北歐港口擠塞|北欧港口拥堵
importers front-loading ahead of tariff changes|進口商趕在關稅調整前出貨|进口商赶在关税调整前出货
falling bunker prices|燃油價格下跌|燃油价格下跌
blank sailings by the major alliances|主要航運聯盟取消航次|主要航运联盟停航
"""
)
FR_TITLE = Say(
    [
        "Weekly freight rate bulletin, week {wk} of {year}",
        "Container spot rates: {lane}",
        "Freight market update, {date}",
    ],
    ["{year}年第{wk}週運價週報", "貨櫃現貨運價：{lane}", "航運市場動態（{date}）"],
    ["{year}年第{wk}周运价周报", "集装箱即期运价：{lane}", "航运市场动态（{date}）"],
)
FR_MARKET = Say(
    [
        "Spot rates on the {lane} trade {move} {pct}% this week amid {reason}.",
        "Carriers announced {surcharge} of US${amt} per TEU effective {eff}.",
        "Schedule reliability improved to {rel}%, while {blank} blank sailings were announced for "
        "the coming month.",
        "Very low sulphur fuel oil in Singapore averaged US${bunker} per tonne.",
    ],
    [
        "{lane}航線現貨運價本週{move}{pct}%，原因是{reason}。",
        "船公司宣佈由{eff}起徵收每標準箱{amt}美元的{surcharge}。",
        "船期準班率改善至{rel}%，下月已公佈{blank}個取消航次。",
        "新加坡超低硫燃料油平均價格為每噸{bunker}美元。",
    ],
    [
        "{lane}航线即期运价本周{move}{pct}%，原因是{reason}。",
        "船公司宣布自{eff}起征收每标准箱{amt}美元的{surcharge}。",
        "船期准班率提升至{rel}%，下月已公布{blank}个停航航次。",
        "新加坡超低硫燃料油平均价格为每吨{bunker}美元。",
    ],
)
RATE_MOVES = (
    ("rose", "jumped", "fell", "eased"),
    ("上升", "急升", "下跌", "回落"),
    ("上涨", "大涨", "下跌", "回落"),
)


def _freight_rates(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    d = day(rng)
    f.put("date", date(d, pick(rng, ("long", "abbr", "us"))))
    f.same("year", str(d.year))
    f.same("wk", str(d.isocalendar()[1]))
    f.put("lane", pick(rng, LANES))
    k = int(r() * 4)
    f.put("move", (RATE_MOVES[0][k], RATE_MOVES[1][k], RATE_MOVES[2][k]))
    f.same("pct", pct(rng, 0.5, 25, 1))
    f.put("reason", pick(rng, REASONS))
    charge = f.put("surcharge", pick(rng, SURCHARGES))
    f.en["surcharge"] = ("an " if charge[0][0] in "aeiou" else "a ") + charge[0]
    f.same("amt", str(25 * (1 + int(r() * 40))))
    f.put("eff", date(later(d, 7 + int(r() * 21))))
    f.same("rel", pct(rng, 40, 90, 1))
    f.same("blank", str(int(r() * 60)))
    f.same("bunker", str(450 + int(r() * 350)))
    lines = []
    for _ in range(3 + int(r() * 4)):
        a, b = port(rng, home=True), port(rng, foreign=True)
        rate, chg = 400 + int(r() * 8000), (r() - 0.5) * 30
        feu = r() < 0.6
        lines.append(
            (
                f"{a[0]} - {b[0]}: US${rate:,} per {'FEU' if feu else 'TEU'} "
                f"({chg:+.1f}% week on week)",
                f"{a[1]}－{b[1]}：每個{'40' if feu else '20'}呎貨櫃{rate:,}美元（按週{chg:+.1f}%）",
                f"{a[2]}—{b[2]}：每{'40' if feu else '20'}英尺箱{rate:,}美元（环比{chg:+.1f}%）",
            )
        )
    listed = bullets(lines, numbered=False)
    return [
        FR_TITLE(rng, f),
        ("Spot rates:\n" + listed[0], "現貨運價：\n" + listed[1], "即期运价：\n" + listed[2]),
        FR_MARKET.several(rng, f, 2 + int(r() * 3)),
    ]


KINDS = {"port-operations": _port_ops, "freight-rate-bulletin": _freight_rates}
