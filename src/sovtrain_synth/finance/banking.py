"""Finance documents: trade finance (letter of credit advices, deal notes) and compliance
notices."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import (
    Facts,
    Say,
    Triple,
    bullets,
    chance,
    form,
    para,
    pick,
    table,
)
from sovtrain_synth.lexicon.companies import bank, brand, company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.names import ROLES, person
from sovtrain_synth.lexicon.numbers import (
    amount,
    any_date,
    currency,
    date,
    day,
    digits,
    later,
    money,
)
from sovtrain_synth.lexicon.phrases import OBLIGATIONS
from sovtrain_synth.lexicon.places import ADDRESS_CITIES, COUNTRIES, address, port
from sovtrain_synth.lexicon.terms_finance import INSTRUMENTS, REGULATORY
from sovtrain_synth.lexicon.terms_logistics import INCOTERMS, PACKAGES, SHIPPING_DOCS

LC = table(
    """
Documentary credit number|跟單信用證號碼|跟单信用证号码
Date of issue|開證日期|开证日期
Applicant|申請人|申请人
Beneficiary|受益人
Issuing bank|開證行|开证行
Advising bank|通知行
Currency and amount|幣別及金額|币种及金额
Amount tolerance|金額增減幅度|金额增减幅度
Available with / by|兌付方式|兑付方式
Drafts at|匯票期限|汇票期限
Partial shipments|分批裝運|分批装运
Transhipment|轉運
Port of loading|裝貨港|装货港
Port of discharge|卸貨港|卸货港
Latest date of shipment|最遲裝運日期|最迟装运日期
Date and place of expiry|到期日及地點|到期日及地点
Description of goods|貨物描述|货物描述
Period for presentation|交單期限|交单期限
"""
)
AVAILABLE = table(
    """
any bank by negotiation|任何銀行以議付方式兌付|任何银行以议付方式兑付
the advising bank by payment|通知行以付款方式兌付|通知行以付款方式兑付
the issuing bank by deferred payment|開證行以延期付款方式兌付|开证行以延期付款方式兑付
"""
)
ALLOWED = table(
    """
allowed|允許|允许
not allowed|不允許|不允许
"""
)
COPIES = (("in one original", "in duplicate", "in triplicate"), "一二三")
BENCHMARKS = table(
    """
HIBOR|香港銀行同業拆息|香港银行同业拆息
Term SOFR|定期有擔保隔夜融資利率|定期有担保隔夜融资利率
CNH HIBOR|離岸人民幣香港銀行同業拆息|离岸人民币香港银行同业拆息
the one-year loan prime rate|一年期貸款市場報價利率|一年期贷款市场报价利率
"""
)
BENCHMARK_FOR = {"HKD": 0, "USD": 1, "CNY": 3}
LC_INTRO = Say(
    [
        "We advise that {issuing} has issued an irrevocable documentary credit in favour of "
        "{beneficiary}, details as follows.",
        "Please be informed that we have received the following documentary credit from "
        "{issuing} for {beneficiary}.",
        "{issuing} has opened a {tenor} letter of credit for {amount} on behalf of {applicant}.",
    ],
    [
        "茲通知，{issuing}已開立以{beneficiary}為受益人的不可撤銷跟單信用證，詳情如下。",
        "謹通知貴司，本行已收到{issuing}為{beneficiary}開立的以下跟單信用證。",
        "{issuing}已代{applicant}開立金額為{amount}的{tenor}信用證。",
    ],
    [
        "兹通知，{issuing}已开立以{beneficiary}为受益人的不可撤销跟单信用证，详情如下。",
        "谨通知贵司，我行已收到{issuing}为{beneficiary}开立的以下跟单信用证。",
        "{issuing}已代{applicant}开立金额为{amount}的{tenor}信用证。",
    ],
)
LC_CLOSE = Say(
    [
        "This advice is sent without any engagement on our part.",
        "Please check the terms carefully and contact us if any amendment is required.",
        "Documents presented with discrepancies may be refused or subject to a discrepancy fee of "
        "{fee}.",
    ],
    [
        "本通知不構成本行任何責任。",
        "請仔細核對條款，如需修改請與本行聯絡。",
        "單據如有不符點，可能遭拒付或須繳付不符點費用{fee}。",
    ],
    [
        "本通知不构成我行任何责任。",
        "请仔细核对条款，如需修改请与我行联系。",
        "单据如有不符点，可能遭拒付或须缴纳不符点费用{fee}。",
    ],
)
TF_DEAL = Say(
    [
        "{bank} has arranged {instrument} of {amount} for {co} to fund imports of {goods} from "
        "{country}.",
        "{co} drew down {amount} under its {instrument} with {bank} to pay suppliers in {country}.",
        "Under a {days}-day {instrument} arrangement, {bank} advanced {amount} to {co} against "
        "shipments of {goods}.",
    ],
    [
        "{bank}為{co}安排{amount}的{instrument}，用於從{country}進口{goods}。",
        "{co}從其於{bank}的{instrument}中提取{amount}，以支付{country}供應商的貨款。",
        "{bank}以{days}天期{instrument}安排，憑{goods}貨運單據向{co}墊支{amount}。",
    ],
    [
        "{bank}为{co}安排{amount}的{instrument}，用于从{country}进口{goods}。",
        "{co}从其在{bank}的{instrument}中提取{amount}，用于支付{country}供应商的货款。",
        "{bank}以{days}天期{instrument}安排，凭{goods}货运单据向{co}垫付{amount}。",
    ],
)
TF_TERMS = Say(
    [
        "The facility is priced at {margin} basis points over {benchmark} and matures on "
        "{maturity}.",
        "Repayment is due {days} days after the bill of lading date.",
        "Goods are shipped {incoterm} {port}, with insurance covering 110% of invoice value.",
    ],
    [
        "該融資按{benchmark}加{margin}個基點計息，於{maturity}到期。",
        "款項須於提單日期後{days}天內償還。",
        "貨物按{incoterm}{port}條款付運，保險金額為發票金額的110%。",
    ],
    [
        "该融资按{benchmark}加{margin}个基点计息，于{maturity}到期。",
        "款项须于提单日期后{days}天内偿还。",
        "货物按{incoterm}{port}条款发运，保险金额为发票金额的110%。",
    ],
)
TF_RISK = Say(
    [
        "Sanctions screening of all parties, vessels and ports has been completed.",
        "The transaction was reviewed for trade-based money laundering red flags, including "
        "unusual pricing.",
        "Documents will be examined under UCP 600 and ISBP.",
    ],
    [
        "所有相關方、船舶及港口均已完成制裁篩查。",
        "交易已就與貿易有關的洗錢警示（包括異常定價）進行審查。",
        "單據將按《跟單信用證統一慣例》（UCP 600）及《國際標準銀行實務》審核。",
    ],
    [
        "所有相关方、船舶及港口均已完成制裁筛查。",
        "已就与贸易相关的洗钱风险信号（包括异常定价）对交易进行审查。",
        "单据将按《跟单信用证统一惯例》（UCP 600）及《国际标准银行实务》审核。",
    ],
)
LC_DOCS = [d for d in SHIPPING_DOCS if d[0] in {
    "bill of lading", "sea waybill", "air waybill", "commercial invoice", "packing list",
    "certificate of origin", "insurance certificate", "inspection certificate",
    "phytosanitary certificate", "health certificate", "fumigation certificate",
}]  # fmt: skip
TRADE_INSTRUMENTS = [i for i in INSTRUMENTS if i[0].endswith(("financing", "loans", "guarantees"))]


def _trade_finance(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    issue = day(rng)
    cur = currency(rng)
    value = amount(rng, cur, 1e4, 8e6)
    applicant, _ = company(rng)
    beneficiary, _ = company(rng)
    issuing, adv = bank(rng)[0], bank(rng)[0]
    f.put("applicant", applicant)
    f.put("beneficiary", beneficiary)
    f.put("issuing", issuing)
    f.put("amount", money(rng, cur, value))
    fee_cur = currency(rng)
    f.put("fee", money(rng, fee_cur, amount(rng, fee_cur, 50, 150)))
    hs, _tag, name = goods(rng)
    f.put("goods", name)
    if r() < 0.4:  # a trade finance deal note rather than an LC advice
        f.put("bank", bank(rng)[1])
        f.put("co", company(rng)[1])
        f.put("instrument", pick(rng, TRADE_INSTRUMENTS))
        f.put("country", pick(rng, COUNTRIES))
        f.same("days", str(pick(rng, (30, 60, 90, 120, 150, 180))))
        f.same("margin", str(60 + int(r() * 240)))
        f.put("benchmark", BENCHMARKS[BENCHMARK_FOR.get(cur[0], 1)])
        f.put("maturity", any_date(rng, later(issue, 90 + int(r() * 900))))
        f.put("incoterm", pick(rng, INCOTERMS))
        f.put("port", port(rng))
        title = (
            f"Trade finance: {f.en['instrument']} for {f.en['co']}",
            f"貿易融資：{f.hant['co']}{f.hant['instrument']}",
            f"贸易融资：{f.hans['co']}{f.hans['instrument']}",
        )
        return [title, para(rng, f, [TF_DEAL, TF_TERMS]), para(rng, f, [TF_RISK])]
    sight = r() < 0.5
    f.put("tenor", ("sight", "即期", "即期") if sight else ("usance", "遠期", "远期"))
    n = pick(rng, (30, 60, 90, 120, 180))
    drafts = (
        ("sight", "即期", "即期")
        if sight
        else (f"{n} days after bill of lading date", f"提單日後{n}天", f"提单日后{n}天")
    )
    qty = 20 + int(r() * 400) * 5
    pkg, term, loading = pick(rng, PACKAGES), pick(rng, INCOTERMS), port(rng, home=True)
    ship = later(issue, 20 + int(r() * 100))
    city = pick(rng, ADDRESS_CITIES)
    expiry = date(later(ship, 21))
    addr = address(rng, brand(rng))
    desc = (
        f"{qty:,} {pkg[0]} of {name[0]}, HS {hs}, {term[0]} {loading[0]}",
        f"{name[1]}{qty:,}{pkg[1]}，商品編碼{hs}，{term[1]}{loading[1]}",
        f"{name[2]}{qty:,}{pkg[2]}，商品编码{hs}，{term[2]}{loading[2]}",
    )
    values = [
        (f"LC{issue.year % 100:02d}{digits(rng, 8)}",) * 3,
        date(issue),
        (f"{applicant[0]}, {addr[0]}", f"{applicant[1]}，{addr[1]}", f"{applicant[2]}，{addr[2]}"),
        beneficiary,
        issuing,
        adv,
        money(rng, cur, value, formal=True),
        ("+/- 5%",) * 3,
        pick(rng, AVAILABLE),
        drafts,
        pick(rng, ALLOWED),
        pick(rng, ALLOWED),
        loading,
        port(rng, foreign=True),
        date(ship),
        (f"{expiry[0]}, {city[0]}", f"{expiry[1]}，{city[1]}", f"{expiry[2]}，{city[2]}"),
        desc,
        (
            "21 days after the date of shipment, within the validity of the credit",
            "裝運日期後21天內，並須在信用證有效期內",
            "装运日期后21天内，并须在信用证有效期内",
        ),
    ]
    fields = [x for x in zip(LC, values, strict=True) if r() < 0.85]
    docs = []
    for doc in rng.sample(LC_DOCS, 3 + int(r() * 3)):
        k = int(r() * 3)
        docs.append(
            (
                f"{doc[0][0].upper()}{doc[0][1:]} {COPIES[0][k]}",
                f"{doc[1]}一式{COPIES[1][k]}份",
                f"{doc[2]}一式{COPIES[1][k]}份",
            )
        )
    listed = bullets(docs)
    title = (
        "Advice of documentary credit",
        "跟單信用證通知書",
        "跟单信用证通知书",
    )
    return [
        title,
        LC_INTRO(rng, f),
        form(rng, fields),
        (
            "Documents required:\n" + listed[0],
            "所需單據：\n" + listed[1],
            "所需单据：\n" + listed[2],
        ),
        LC_CLOSE(rng, f),
    ]


NOTICE = table(
    """
Reference|檔號|编号
To|致
From|發件人|发件人
Date|日期
Subject|主題|主题
"""
)
AUDIENCES = table(
    """
All front-office and operations staff|全體前線及營運部同事|全体前台及运营部门员工
All relationship managers|全體客戶經理|全体客户经理
Trade finance and payments teams|貿易融資及支付團隊|贸易融资及支付团队
Branch managers|各分行經理|各分行经理
All licensed representatives|全體持牌代表|全体持牌代表
Treasury and markets staff|庫務及市場部同事|资金及市场部员工
"""
)
INTRO = Say(
    [
        "With effect from {eff}, the following requirements on {reg} apply to all business units.",
        "Following a review of {reg}, the Bank has updated its internal policy effective {eff}.",
        "This notice sets out changes to {reg} that take effect on {eff}.",
    ],
    [
        "由{eff}起，以下有關{reg}的要求適用於所有業務單位。",
        "經檢討{reg}後，本行已更新內部政策，由{eff}起生效。",
        "本通告列明有關{reg}的變更，於{eff}生效。",
    ],
    [
        "自{eff}起，以下关于{reg}的要求适用于所有业务单位。",
        "经审查{reg}后，本行已更新内部政策，自{eff}起生效。",
        "本通知列明关于{reg}的变更，自{eff}起生效。",
    ],
)
BREACH = Say(
    [
        "Breaches may lead to disciplinary action and will be reported to senior management.",
        "Business units must confirm completion of the required actions by {deadline}.",
        "Any exception requires prior written approval from the {role}.",
    ],
    [
        "違規者或會受到紀律處分，並將上報高級管理層。",
        "各業務單位須於{deadline}前確認已完成所需行動。",
        "任何例外情況須事先獲得{role}書面批准。",
    ],
    [
        "违规者可能受到纪律处分，并将上报高级管理层。",
        "各业务单位须于{deadline}前确认已完成所需措施。",
        "任何例外情况须事先获得{role}书面批准。",
    ],
)
CONTACT = Say(
    [
        "Questions may be directed to {contact}, {role2}, on {phone}.",
        "For enquiries, please contact {contact} ({role2}) at extension {ext}.",
    ],
    [
        "如有查詢，請致電{phone}聯絡{role2}{contact}。",
        "如有疑問，請聯絡{role2}{contact}（內線{ext}）。",
    ],
    [
        "如有疑问，请致电{phone}联系{role2}{contact}。",
        "如有疑问，请联系{role2}{contact}（分机{ext}）。",
    ],
)
COMPLIANCE_ROLES = [r for r in ROLES if "compliance" in r[0] or "laundering" in r[0]]


def _compliance(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    issued = day(rng, 2022, 2027)
    year = issued.year
    reg = f.put("reg", pick(rng, REGULATORY))
    f.put("eff", any_date(rng, later(issued, 7 + int(r() * 60))))
    f.put("deadline", date(later(issued, 30 + int(r() * 60))))
    f.put("role", pick(rng, COMPLIANCE_ROLES))
    f.put("role2", pick(rng, COMPLIANCE_ROLES))
    f.put("contact", person(rng))
    f.same("phone", f"+852 {pick(rng, '2358')}{digits(rng, 3)} {digits(rng, 4)}")
    f.same("ext", digits(rng, 4))
    full, short = bank(rng)
    ref = f"CMP/{year}/{digits(rng, 3)}"
    subject = (
        f"Updated requirements on {reg[0]}",
        f"有關{reg[1]}的最新要求",
        f"关于{reg[2]}的最新要求",
    )
    header = form(
        rng,
        list(
            zip(
                NOTICE,
                [
                    (ref,) * 3,
                    pick(rng, AUDIENCES),
                    (
                        f"Compliance Department, {short[0]}",
                        f"{short[1]}合規部",
                        f"{short[2]}合规部",
                    ),
                    date(issued),
                    subject,
                ],
                strict=True,
            )
        ),
    )
    title = (f"Compliance notice {ref}", f"合規通告 {ref}", f"合规通知 {ref}")
    items = [
        (o[0][0].upper() + o[0][1:] + ".", o[1] + "。", o[2] + "。")
        for o in rng.sample(OBLIGATIONS, 2 + int(r() * 3))
    ]
    blocks = [title, header, INTRO(rng, f), bullets(items), para(rng, f, [BREACH, CONTACT])]
    if chance(rng, 0.3):
        blocks.append((f"Issued by {full[0]}", f"{full[1]}發出", f"{full[2]}发布"))
    return blocks


KINDS = {"trade-finance": _trade_finance, "compliance-notice": _compliance}
