"""hk-bank-comms: card dispute letters and complaint letters.

Dispute letters carry the full card number because the dispute form asks for it; complaint
letters carry the identifiers a customer gives so the bank can find the account. Both are the
formal register of Hong Kong customer letters (敬啟者 ... 謹啟), with the customer's address block
at the top.
"""

from __future__ import annotations

import random

from sovtrain_synth.bank_comms.mail import GREET
from sovtrain_synth.bank_comms.pii import customer, when
from sovtrain_synth.lexicon.common import Facts, Say, Triple, chance, form, glue, para, pick, table
from sovtrain_synth.lexicon.companies import brand
from sovtrain_synth.lexicon.numbers import BY_CODE, amount, any_date, currency, date, later, money
from sovtrain_synth.lexicon.places import CITIES

MERCHANT_KINDS = table(
    """
Electronics|電器
Online Travel|網上旅遊|网上旅游
Fitness Centre|健身中心
Restaurant|餐廳|餐厅
Pharmacy|藥房|药房
Florist|花店
Furniture|傢俬|家具
Optical|眼鏡|眼镜
Learning Centre|學習中心|学习中心
Streaming|串流影音
"""
)
REASONS = table(
    """
I did not make or authorise this transaction|本人並無進行或授權此交易
I was charged twice for the same purchase|同一筆消費被重複扣賬
the goods were never delivered|本人從未收到有關貨品
the merchant agreed to a refund that has not been credited|商戶已同意退款，但款項至今仍未存入
the amount charged differs from my receipt|扣賬金額與本人收據不符
I cancelled the membership but was still charged|本人已取消會籍，但仍被扣款
"""
)
DISPUTE_FORM = table(
    """
Cardholder|持卡人
Card number|信用卡號碼
Transaction date|交易日期
Merchant|商戶|商户
Amount|金額|金额
Reason|原因
"""
)
DISPUTE_OPEN = Say(
    [
        "I am writing to dispute a transaction on my {scheme} card ending {card4}.",
        "I wish to dispute the following charge on my credit card statement dated {stmt}.",
        "Please treat this letter as a formal dispute of the transaction set out below.",
    ],
    [
        "本人謹此就尾號{card4}的{scheme}信用卡上一筆交易提出爭議。",
        "本人希望就{stmt}信用卡月結單上的以下收費提出爭議。",
        "請將本函視作本人對下列交易的正式爭議。",
    ],
)
DISPUTE_STORY = Say(
    [
        "On {txn} a charge of {amount} from {merchant} appeared on my account, but {reason}.",
        "The transaction of {amount} at {merchant} on {txn} is incorrect: {reason}.",
        "I do not accept the charge of {amount} by {merchant} dated {txn}, because {reason}.",
    ],
    [
        "{txn}本人戶口出現一筆來自{merchant}的{amount}收費，但{reason}。",
        "{txn}於{merchant}的{amount}交易有誤：{reason}。",
        "本人不接納{merchant}於{txn}收取的{amount}，原因是{reason}。",
    ],
)
DISPUTE_MORE = Say(
    [
        "I contacted the merchant on {contacted} and was promised a reply, which never came.",
        "The card has been in my possession at all times and I have never shared the PIN.",
        "I noticed the charge only when the SMS alert arrived at {time}.",
        "The merchant is located in {city}, where I have never been.",
    ],
    [
        "本人已於{contacted}聯絡該商戶，對方答應回覆，但至今仍無消息。",
        "該信用卡一直由本人保管，本人從未向任何人透露密碼。",
        "本人於{time}收到短訊提示後才發現這筆收費。",
        "該商戶位於{city}，而本人從未到過該地。",
    ],
)
DISPUTE_ASK = Say(
    [
        "Please reverse the charge and block the card; I will need a replacement.",
        "I request a temporary credit of {amount} while you investigate.",
        "Kindly send the dispute form to {email} so that I can sign and return it.",
        "You may contact me on {phone} if you need further information.",
    ],
    [
        "請撤銷該筆收費並暫停此卡，本人需要補發新卡。",
        "在調查期間，請先將{amount}暫時存回本人戶口。",
        "請將爭議表格電郵至 {email}，以便本人簽署後交回。",
        "如需更多資料，可致電{phone}與本人聯絡。",
    ],
)


def _letterhead(f: Facts) -> Triple:
    """Customer's name, address and date at the head of a letter, then the addressee."""
    return (
        f"{f.en['name']}\n{f.en['address']}\n{f.en['date']}\n\n{f.en['dept']}\n{f.en['bank_full']}",
        f"{f.hant['name']}\n{f.hant['address']}\n{f.hant['date']}\n\n"
        f"{f.hant['bank_full']}\n{f.hant['dept']}",
        f"{f.hans['name']}\n{f.hans['address']}\n{f.hans['date']}\n\n"
        f"{f.hans['bank_full']}\n{f.hans['dept']}",
    )


def _card_dispute(rng: random.Random) -> list[Triple]:
    f = Facts()
    customer(rng, f)
    written = when(rng)
    txn = later(written, -3 - int(rng.random() * 40))
    f.put("date", date(written))
    f.put("dept", ("Card Services Department", "信用卡服務部", "信用卡服务部"))
    f.put("txn", any_date(rng, txn))
    f.put("stmt", date(later(txn, 5 + int(rng.random() * 20))))
    f.put("contacted", date(later(txn, 1 + int(rng.random() * 5))))
    f.same("time", f"{int(rng.random() * 24):02d}:{int(rng.random() * 60):02d}")
    cur = currency(rng) if chance(rng, 0.4) else BY_CODE["HKD"]
    value = amount(rng, cur, 15, 4000)
    f.put("amount", money(rng, cur, value))
    shop, kind = brand(rng), pick(rng, MERCHANT_KINDS)
    merchant = f.put("merchant", (f"{shop[0]} {kind[0]}", shop[1] + kind[1], shop[2] + kind[2]))
    reason = f.put("reason", pick(rng, REASONS))
    f.put("city", pick(rng, CITIES))
    title = ("Card transaction dispute", "信用卡交易爭議", "信用卡交易争议")
    values = [
        f["name"],
        f["card"],
        date(txn, "form"),
        merchant,
        money(rng, cur, value, formal=True),
        (reason[0][0].upper() + reason[0][1:], reason[1], reason[2]),
    ]
    fields = [(label, value) for label, value in zip(DISPUTE_FORM, values, strict=True)]
    blocks = [title, _letterhead(f), GREET(rng, f), para(rng, f, [DISPUTE_OPEN])]
    blocks.append(form(rng, fields))
    story = [DISPUTE_STORY(rng, f), DISPUTE_MORE.several(rng, f, 1 + int(rng.random() * 2))]
    blocks.append(glue(story))
    blocks.append(DISPUTE_ASK.several(rng, f, 2))
    blocks.append(_sign_off(rng, f))
    return blocks


# (subject, what happened, whether the customer asks for a fee back)
ISSUES: list[tuple[Triple, Say, bool]] = [
    (
        (
            "Long wait and poor service at branch",
            "分行輪候時間過長及服務欠佳",
            "分行排队时间过长及服务欠佳",
        ),
        Say(
            [
                "On {when} I waited {minutes} minutes at your {branch} only to be told the "
                "system was down.",
                "When I visited your {branch} on {when}, the staff member {staff} refused to "
                "explain why my withdrawal was held.",
            ],
            [
                "本人於{when}在貴行{branch}輪候了{minutes}分鐘，最後只被告知系統故障。",
                "本人於{when}到貴行{branch}辦理手續，職員{staff}拒絕解釋本人的提款為何被暫緩。",
            ],
        ),
        False,
    ),
    (
        ("Fee charged without notice", "未經通知收取費用", "未经通知收取费用"),
        Say(
            [
                "A low-balance fee of {fee} was deducted from account {acct} on {when} without any "
                "prior notice.",
                "My statement shows a service charge of {fee} on {when}, which nobody told me "
                "about when I opened the account.",
            ],
            [
                "貴行於{when}在未有事先通知的情況下，從戶口{acct}扣除{fee}低結餘服務費。",
                "本人月結單顯示{when}被收取{fee}服務費，開戶時並無職員向本人說明。",
            ],
        ),
        True,
    ),
    (
        ("Investment product mis-selling", "投資產品銷售不當", "投资产品销售不当"),
        Say(
            [
                "On {when} {staff} at your {branch} sold my elderly mother a structured product "
                "without explaining that the principal was at risk.",
                "I was advised by {staff} to invest {amount} in a fund that did not match my "
                "conservative risk profile.",
            ],
            [
                "{when}貴行{branch}職員{staff}向本人年邁的母親銷售結構性產品，"
                "卻未有解釋本金可能虧損。",
                "職員{staff}建議本人將{amount}投資於一隻與本人保守風險取向不符的基金。",
            ],
        ),
        False,
    ),
    (
        ("Repeated failed transfers", "轉賬多次失敗", "转账多次失败"),
        Say(
            [
                "My FPS transfers of {amount} failed {times} times on {when}, yet the money was "
                "held for two days.",
                "Since {when} every transfer I make through the mobile app fails with an error.",
            ],
            [
                "本人於{when}以轉數快轉賬{amount}，先後失敗{times}次，款項卻被凍結兩天。",
                "自{when}起，本人透過手機應用程式進行的每一筆轉賬均顯示錯誤而失敗。",
            ],
        ),
        False,
    ),
    (
        ("Unsolicited marketing calls", "接獲未經同意的推銷電話", "接到未经同意的推销电话"),
        Say(
            [
                "Although I opted out of direct marketing, I received {times} sales calls on "
                "{phone} after {when}.",
                "Your telemarketing staff keep calling my mobile {phone} even though I "
                "asked on {when} to stop.",
            ],
            [
                "本人已拒絕接收直接促銷資訊，但於{when}後仍在{phone}接獲{times}次推銷電話。",
                "本人已於{when}要求停止來電，但貴行電話推銷員仍不斷致電本人手提電話{phone}。",
            ],
        ),
        False,
    ),
]
REFUND = Say(
    [
        "I ask that the fee of {fee} be refunded to my account.",
        "Please reverse the {fee} charge and waive it in future.",
    ],
    ["本人要求貴行將{fee}退回本人戶口。", "請撤銷該筆{fee}收費，日後亦請豁免。"],
)
DEMAND = Say(
    [
        "I expect a written explanation within {n} days.",
        "If I do not receive a satisfactory reply, I will refer the matter to the HKMA or the "
        "Financial Dispute Resolution Centre.",
        "Please also review how your staff handle similar cases.",
    ],
    [
        "本人期望於{n}日內收到書面解釋。",
        "如未能獲得滿意答覆，本人將把事件轉介香港金融管理局或金融糾紛調解中心。",
        "亦請貴行檢討職員處理同類個案的方式。",
    ],
)
COMPLAINT_IDS = table(
    """
Account number|戶口號碼|账户号码
HKID|香港身份證號碼|香港身份证号码
Contact number|聯絡電話|联系电话
E-mail|電郵|电邮
"""
)


def _sign_off(rng: random.Random, f: Facts) -> Triple:
    if chance(rng, 0.5):
        return (
            f"Yours faithfully,\n\n{f.en['name']}",
            f"此致\n{f.hant['bank']}\n\n{f.hant['name']} 謹啟",
            f"此致\n{f.hans['bank']}\n\n{f.hans['name']} 谨启",
        )
    return (
        f"Yours sincerely,\n\n{f.en['name']}\nMobile: {f.en['phone']}",
        f"{f.hant['name']} 敬上\n手提電話：{f.hant['phone']}",
        f"{f.hans['name']} 敬上\n手机：{f.hans['phone']}",
    )


def _complaint(rng: random.Random) -> list[Triple]:
    f = Facts()
    customer(rng, f)
    written = when(rng)
    f.put("date", date(written))
    f.put("dept", ("Customer Relations Unit", "客戶關係部", "客户关系部"))
    f.put("when", any_date(rng, later(written, -2 - int(rng.random() * 60))))
    f.same("minutes", str(pick(rng, (45, 60, 75, 90, 120))))
    f.same("times", str(pick(rng, (3, 4, 5, 6, 8))))
    f.same("n", str(pick(rng, (7, 14, 30))))
    f.put("staff", f["agent"])
    hkd = BY_CODE["HKD"]
    f.put("fee", money(rng, hkd, pick(rng, (50, 100, 120, 150, 200, 300))))
    f.put("amount", money(rng, hkd, amount(rng, hkd, 5e3, 2e5)))
    issue, story, refund = pick(rng, ISSUES)
    title = (f"Complaint: {issue[0]}", f"投訴：{issue[1]}", f"投诉：{issue[2]}")
    ids = [f["acct"], f["hkid"], f["phone"], f["email"]]
    fields = [x for x in zip(COMPLAINT_IDS, ids, strict=True) if chance(rng, 0.6)]
    fields = fields or [(COMPLAINT_IDS[0], f["acct"])]  # the bank needs the account, at least
    subject = (f"Re: {issue[0]}", f"事由：{issue[1]}", f"事由：{issue[2]}")
    blocks = [title, _letterhead(f), GREET(rng, f), subject, para(rng, f, [story])]
    blocks.append(form(rng, fields))
    demand = DEMAND.several(rng, f, 1 + int(rng.random() * 2))
    blocks.append(glue([REFUND(rng, f), demand]) if refund else demand)
    blocks.append(_sign_off(rng, f))
    return blocks


KINDS = {"card-dispute": _card_dispute, "complaint-letter": _complaint}
