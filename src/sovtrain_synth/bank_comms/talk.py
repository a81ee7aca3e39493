"""hk-bank-comms: relationship-manager call notes and secure-message chat transcripts.

Call notes are terse internal records with the customer's identifiers in a header; chats are
several timed turns between a customer and an agent, where customers type identifiers (and now
and then a full card number the agent asks them not to send), which is the kind of free text a
CRM export holds and a masking stage must handle.
"""

from __future__ import annotations

import random

from sovtrain_synth.bank_comms.letters import MERCHANT_KINDS
from sovtrain_synth.bank_comms.pii import account_number, customer, when
from sovtrain_synth.lexicon.common import (
    Facts,
    Say,
    Triple,
    bullets,
    chance,
    form,
    pick,
    some,
    table,
)
from sovtrain_synth.lexicon.companies import brand
from sovtrain_synth.lexicon.numbers import BY_CODE, amount, date, day, digits, later, money, pct
from sovtrain_synth.lexicon.places import CITIES

NOTE_FORM = table(
    """
Customer|客戶|客户
Customer number|客戶編號|客户编号
Mobile|手提電話|手机
HKID|香港身份證號碼|香港身份证号码
Relationship manager|客戶經理|客户经理
Date|日期
Channel|聯絡方式|联系方式
"""
)
CHANNELS = table(
    """
Outbound call|致電客戶|致电客户
Inbound call|客戶來電|客户来电
Video call|視像通話|视频通话
Branch meeting|分行會面|分行会面
"""
)
POINTS = [
    Say(
        [
            "Customer asked about renewing a {td} time deposit maturing on {mature}; quoted "
            "{rate}% p.a. for {months} months.",
            "Time deposit of {td} due {mature}; customer will roll it over for {months} months if "
            "the rate stays above {rate}%.",
        ],
        [
            "客戶查詢於{mature}到期的{td}定期存款續期事宜，已報{months}個月年利率{rate}%。",
            "客戶{td}定期存款於{mature}到期，如利率維持{rate}%以上，擬續存{months}個月。",
        ],
    ),
    Say(
        [
            "Reviewed the risk profile questionnaire; customer remains at risk level {level}.",
            "Risk profile expires next month; arranged to redo the questionnaire at the {branch}.",
        ],
        [
            "已與客戶檢視風險評估問卷，客戶風險級別維持第{level}級。",
            "客戶風險評估將於下月屆滿，已安排於{branch}重新填寫問卷。",
        ],
    ),
    Say(
        [
            "Customer plans to remit {remit} to {city} for a child's tuition; reminded of the "
            "{cutoff} cut-off.",
            "Large outward remittance of {remit} expected next week; customer says the funds come "
            "from the sale of a flat.",
        ],
        [
            "客戶計劃匯款{remit}往{city}支付子女學費，已提醒截數時間為{cutoff}。",
            "客戶預計下星期匯出一筆{remit}的大額款項，表示資金來源為出售物業所得。",
        ],
    ),
    Say(
        [
            "Discussed refinancing the mortgage on the flat in {district}; customer to send the "
            "latest valuation.",
            "Customer asked whether the HIBOR-based mortgage rate will fall; explained the cap at "
            "prime less a margin.",
        ],
        [
            "與客戶討論{district}物業的轉按安排，客戶將提供最新估價。",
            "客戶查詢以銀行同業拆息計算的按揭利率會否下調，已解釋以最優惠利率減息計算的封頂安排。",
        ],
    ),
    Say(
        [
            "Customer reported an SMS asking for details of card {card4}; no unusual transactions "
            "found, reminded never to share one-time passwords.",
            "Customer had a call from someone claiming to be bank staff; advised to hang up and "
            "call the hotline.",
        ],
        [
            "客戶報告收到可疑短訊，要求提供尾號{card4}信用卡資料；經查並無異常交易，"
            "已提醒切勿透露一次性密碼。",
            "客戶接獲自稱銀行職員的來電，已建議客戶掛線並致電本行熱線核實。",
        ],
    ),
    Say(
        [
            "Updated the contact e-mail to {email} at the customer's request.",
            "Customer gave a new mobile number, {phone2}; the change will be verified by SMS.",
        ],
        [
            "應客戶要求將聯絡電郵更新為：{email}。",
            "客戶提供新手提電話號碼{phone2}，將以短訊核實更改。",
        ],
    ),
    Say(
        [
            "Customer declined the savings insurance plan; no further marketing, as requested.",
            "Introduced the multi-currency account; customer will think it over.",
        ],
        [
            "客戶拒絕儲蓄保險計劃，按客戶意願不再推廣。",
            "向客戶介紹多貨幣戶口，客戶表示會再考慮。",
        ],
    ),
]
FOLLOW = Say(
    [
        "Send the time deposit confirmation to {email}.",
        "Call the customer back on {phone} by {due}.",
        "Log the feedback under case {ref}.",
        "Book an appointment at the {branch} on {due}.",
    ],
    [
        "將定期存款確認書電郵至客戶（{email}）。",
        "於{due}前致電{phone}回覆客戶。",
        "以個案編號{ref}記錄客戶意見。",
        "為客戶預約於{due}到{branch}辦理。",
    ],
)


def talk_slots(rng: random.Random, f: Facts) -> None:
    """Slots shared by notes and chats, all drawn whether or not a phrasing uses them."""
    customer(rng, f)
    hkd = BY_CODE["HKD"]
    f.put("td", money(rng, hkd, amount(rng, hkd, 1e4, 5e5)))
    f.put("remit", money(rng, hkd, amount(rng, hkd, 5e3, 3e5)))
    f.put("limit", money(rng, hkd, pick(rng, (50_000, 100_000, 200_000, 500_000))))
    f.put("pay", money(rng, hkd, amount(rng, hkd, 50, 3e4)))
    f.same("rate", pct(rng, 2.0, 4.5, 2))
    f.same("months", str(pick(rng, (1, 3, 6, 12))))
    f.same("level", str(1 + int(rng.random() * 5)))
    f.put("city", pick(rng, CITIES))
    f.same("cutoff", pick(rng, ("4:30 pm", "5 pm", "3 pm")))
    f.same("days", str(pick(rng, (5, 7, 10))))
    f.same("acct2", account_number(rng))
    f.same("ref2", f"FT{digits(rng, 4)}{digits(rng, 3)}X")
    f.put("dob", date(day(rng, 1950, 2004)))
    shop, kind = brand(rng), pick(rng, MERCHANT_KINDS)
    f.put("merchant", (f"{shop[0]} {kind[0]}", shop[1] + kind[1], shop[2] + kind[2]))


def _call_note(rng: random.Random) -> list[Triple]:
    f = Facts()
    talk_slots(rng, f)
    met = when(rng)
    f.put("mature", date(later(met, 3 + int(rng.random() * 30))))
    f.put("due", date(later(met, 1 + int(rng.random() * 10))))
    values = [
        f["name"],
        (f"CIF{digits(rng, 7)}",) * 3,
        f["phone"],
        f["hkid"],
        f["agent"],
        date(met),
        pick(rng, CHANNELS),
    ]
    fields = [
        x
        for i, x in enumerate(zip(NOTE_FORM, values, strict=True))
        if i in (0, 1, 2) or chance(rng, 0.6)
    ]
    title = (
        f"Call note: {f.en['name']}",
        f"客戶經理通話記錄：{f.hant['name']}",
        f"客户经理通话记录：{f.hans['name']}",
    )
    points = bullets([say(rng, f) for say in some(rng, POINTS, 2, 4)], numbered=False)
    follow = bullets([FOLLOW(rng, f)] + ([FOLLOW(rng, f)] if chance(rng, 0.4) else []))
    blocks = [title, form(rng, fields)]
    blocks.append(
        ("Discussion:\n" + points[0], "討論內容：\n" + points[1], "讨论内容：\n" + points[2])
    )
    blocks.append(
        ("Follow-up:\n" + follow[0], "跟進事項：\n" + follow[1], "跟进事项：\n" + follow[2])
    )
    if chance(rng, 0.4):
        blocks.append(
            (
                "Call recorded; risk disclosure read to the customer.",
                "通話已錄音；已向客戶讀出風險披露聲明。",
                "通话已录音；已向客户读出风险披露声明。",
            )
        )
    return blocks


KINDS = {"rm-call-note": _call_note}
