"""Finance classification messages and extraction documents, and the finance `DomainKit`.

Classification messages are short customer or market communications, written so that the
category follows from what the message asks or reports, not from a give-away keyword that
only one category uses. Extraction documents are letter-of-credit and payment advices laid
out as forms: every value the user asks for appears verbatim on one line.
"""

from __future__ import annotations

import random

from sovtrain_synth.instructions.common import (
    DomainKit,
    Extraction,
    amount_text,
    any_day,
    field_lines,
    lines,
    percent,
    prose_day,
    say,
    shown_and_asked,
)
from sovtrain_synth.instructions.fin_explain import BENCH, explain, lc_clause
from sovtrain_synth.lexicon.common import Facts, Say, Triple, pick
from sovtrain_synth.lexicon.companies import bank, company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import (
    BY_CODE,
    amount,
    currency,
    day,
    digits,
    later,
    letters,
    money,
)
from sovtrain_synth.lexicon.places import port
from sovtrain_synth.lexicon.terms_finance import INDEXES, REGULATORY, SECTORS

LABELS = ("market-report", "compliance-notice", "trade-finance", "credit", "payments")
RULES = [r for r in REGULATORY if r[0] in {
    "anti-money laundering", "customer due diligence", "counter-terrorist financing",
    "sanctions screening",
}]  # fmt: skip

MESSAGES: dict[str, Say] = {
    "market-report": say(
        ["The {index} closed {move} at {level} today, with {sector} stocks the most active; "
         "turnover was {turnover}.",
         "Morning note: {sector} shares moved the {index} {move} in early trade, while investors "
         "await the central bank's rate decision on {date}.",
         "Weekly wrap: the {index} ended the week {move} at {level}; {sector} names outperformed "
         "as bond yields eased."],
        ["{index}今日收市{move}，報{level}點，{sector}股最為活躍；成交額{turnover}。",
         "早市評論：{sector}股帶動{index}早段{move}，投資者等待央行於{date}公佈的利率決定。",
         "每週回顧：{index}全週{move}，收報{level}點；債券孳息回落，{sector}股跑贏大市。"],
        ["{index}今日收盘{move}，报{level}点，{sector}股最为活跃；成交额{turnover}。",
         "早盘点评：{sector}股带动{index}早盘{move}，投资者等待央行于{date}公布的利率决议。",
         "每周回顾：{index}全周{move}，收报{level}点；债券收益率回落，{sector}股跑赢大盘。"],
    ),
    "compliance-notice": say(
        ["Reminder: please update the identity document and address proof for account {acct} by "
         "{date}, as required under {reg} rules.",
         "Under our {reg} policy, we must verify the source of funds for transfers above "
         "{amount}. Please send supporting documents within 14 days.",
         "Our records show the tax residency self-certification for account {acct} is missing; "
         "please complete the form by {date}, or the account may be restricted."],
        ["提示：根據{reg}規定，請於{date}或之前更新戶口{acct}的身份證明文件及住址證明。",
         "根據本行的{reg}政策，我們須核實超過{amount}的轉賬的資金來源。請於14天內提交證明文件。",
         "本行紀錄顯示戶口{acct}尚未提交稅務居民身份自我證明表格，請於{date}或之前填妥，否則戶口"
         "或會受到限制。"],
        ["提示：根据{reg}规定，请于{date}前更新账户{acct}的身份证明文件及地址证明。",
         "根据我行的{reg}政策，我们须核实超过{amount}的转账的资金来源。请在14天内提交证明文件。",
         "我行记录显示账户{acct}尚未提交税收居民身份声明，请于{date}前填写，否则账户可能受到"
         "限制。"],
    ),
    "trade-finance": say(
        ["We have received documents under LC {lc} for {amount}. The invoice describes {goods}, "
         "but the bill of lading does not; please advise whether you accept the discrepancy.",
         "Please issue an import LC for {amount} in favour of {co}, covering {goods}, with latest "
         "shipment on {date}.",
         "Request to amend LC {lc}: extend the expiry to {date} and change the port of discharge "
         "to {port}."],
        ["本行已收到信用證{lc}項下金額{amount}的單據。發票列明貨物為{goods}，但提單描述不同，請"
         "告知是否接受此不符點。",
         "請開立以{co}為受益人、金額{amount}的進口信用證，貨物為{goods}，最遲裝運日期為{date}。",
         "申請修改信用證{lc}：將到期日延至{date}，並將卸貨港改為{port}。"],
        ["我行已收到信用证{lc}项下金额{amount}的单据。发票列明货物为{goods}，但提单描述不一致，"
         "请告知是否接受该不符点。",
         "请开立以{co}为受益人、金额{amount}的进口信用证，货物为{goods}，最迟装运日期为{date}。",
         "申请修改信用证{lc}：将有效期延至{date}，并将卸货港改为{port}。"],
    ),
    "credit": say(
        ["Your application for a {amount} revolving credit facility has been approved at "
         "{bench} + {m}% per annum.",
         "Loan {loan} is {n} days overdue. Please repay the outstanding {amount} promptly to "
         "avoid default interest.",
         "As part of the annual review of your credit limit of {amount}, please provide audited "
         "accounts for {year} by {date}."],
        ["閣下申請的{amount}循環信貸額度已獲批核，年利率為{bench}加{m}%。",
         "貸款{loan}已逾期{n}天，請盡快償還欠款{amount}，以免被收取罰息。",
         "為進行{amount}信貸額度的年度覆核，請於{date}或之前提供{year}年度經審核賬目。"],
        ["您申请的{amount}循环授信额度已获批准，年利率为{bench}加{m}%。",
         "贷款{loan}已逾期{n}天，请尽快偿还欠款{amount}，以免产生罚息。",
         "为进行{amount}授信额度的年度复核，请于{date}前提供{year}年度经审计财务报表。"],
    ),
    "payments": say(
        ["Your outward telegraphic transfer of {amount} to {co} was credited to the beneficiary's "
         "account on {date}.",
         "An inward remittance of {amount} from {co} has been credited to account {acct}.",
         "Your FPS payment of {amount} to {person} was rejected because the payee name did not "
         "match; please check the details and try again."],
        ["閣下匯往{co}的{amount}電匯已於{date}存入收款人戶口。",
         "一筆來自{co}的{amount}匯入款項已存入戶口{acct}。",
         "閣下向{person}支付{amount}的轉數快付款因收款人名稱不符而被拒，請核對資料後再試。"],
        ["您汇往{co}的{amount}电汇已于{date}入账收款人账户。",
         "一笔来自{co}的{amount}汇入款项已存入账户{acct}。",
         "您向{person}支付{amount}的转数快付款因收款人名称不符被退回，请核对信息后重试。"],
    ),
}  # fmt: skip


def _message(rng: random.Random, label: str) -> Triple:
    """One message of category `label`, with every slot any template uses drawn."""
    f, r = Facts(), rng.random
    p = percent(0.1 + r() * 3.5)
    if r() < 0.55:
        f.put("move", (f"up {p}%", f"上升{p}%", f"上涨{p}%"))
    else:
        f.put("move", (f"down {p}%", f"下跌{p}%", f"下跌{p}%"))
    f.put("index", pick(rng, INDEXES))
    f.same("level", f"{int(2000 + r() * 38000):,}")
    f.put("sector", pick(rng, SECTORS))
    hkd = BY_CODE["HKD"]
    f.put("turnover", money(rng, hkd, amount(rng, hkd, 5e9, 3e10)))
    f.put("date", prose_day(rng, day(rng)))
    f.same("acct", f"{digits(rng, 3)}-{digits(rng, 6)}-{digits(rng, 3)}")
    f.put("reg", pick(rng, RULES))
    cur = currency(rng)
    f.put("amount", money(rng, cur, amount(rng, cur, 1e3, 5e6)))
    f.same("lc", f"LC{digits(rng, 10)}")
    f.put("goods", goods(rng)[2])
    f.put("co", company(rng)[1])
    f.put("port", port(rng))
    f.put("bench", pick(rng, BENCH))
    f.same("m", percent(0.8 + r() * 2.5))
    f.same("loan", f"{letters(rng, 2)}{digits(rng, 8)}")
    f.same("n", str(5 + int(r() * 85)))
    f.same("year", str(2019 + int(r() * 7)))
    f.put("person", person(rng))
    return MESSAGES[label](rng, f)


LC_TITLES = [
    ("Advice of documentary credit", "跟單信用證通知書", "跟单信用证通知书"),
    ("Letter of credit advice", "信用證通知", "信用证通知"),
]
PAY_TITLES = [
    ("Payment advice", "付款通知書", "付款通知书"),
    ("Inward remittance advice", "匯入匯款通知書", "汇入汇款通知书"),
]
CURRENCY_LABEL = ("Currency", "幣別", "币种")
AMOUNT_LABEL = ("Amount", "金額", "金额")


def _money_rows(rng: random.Random) -> list[tuple[str, Triple, Triple]]:
    cur = currency(rng)
    value = amount(rng, cur, 5e3, 8e6)
    text = amount_text(value, rng.random() < 0.6)
    return [("currency", CURRENCY_LABEL, (cur[0],) * 3), ("amount", AMOUNT_LABEL, (text,) * 3)]


def _lc_advice(rng: random.Random) -> tuple[Triple, list[tuple[str, Triple, Triple]]]:
    issue = day(rng)
    rows = [
        ("lc_number", ("LC No.", "信用證號碼", "信用证号码"),
         (f"LC{issue.year % 100:02d}{digits(rng, 8)}",) * 3),
        ("applicant", ("Applicant", "申請人", "申请人"), company(rng)[0]),
        ("beneficiary", ("Beneficiary", "受益人", "受益人"), company(rng)[0]),
        *_money_rows(rng),
        ("expiry_date", ("Expiry date", "到期日", "到期日"),
         any_day(rng, later(issue, 45 + int(rng.random() * 150)))),
    ]  # fmt: skip
    return pick(rng, LC_TITLES), rows


def _payment_advice(rng: random.Random) -> tuple[Triple, list[tuple[str, Triple, Triple]]]:
    remitter = company(rng)[0] if rng.random() < 0.7 else person(rng)
    rows = [
        ("reference", ("Our reference", "本行編號", "我行编号"),
         (f"{pick(rng, ('TT', 'FT', 'RM'))}{digits(rng, 10)}",) * 3),
        ("remitter", ("Remitter", "匯款人", "汇款人"), remitter),
        ("beneficiary", ("Beneficiary", "收款人", "收款人"), company(rng)[0]),
        *_money_rows(rng),
        ("value_date", ("Value date", "起息日", "起息日"), any_day(rng, day(rng))),
    ]  # fmt: skip
    return pick(rng, PAY_TITLES), rows


def extract(rng: random.Random) -> Extraction:
    """An LC or payment advice from a (fictional) bank and 2-4 of its fields to extract."""
    title, rows = (_lc_advice if rng.random() < 0.6 else _payment_advice)(rng)
    name = bank(rng)[1]
    head = (f"{name[0]}: {title[0]}", f"{name[1]}{title[1]}", f"{name[2]}{title[2]}")
    shown, asked = shown_and_asked(rng, rows, always=1, ask_low=2, ask_high=4)
    return Extraction(lines(head, field_lines(shown)), asked)


FINANCE = DomainKit(labels=LABELS, explain=explain, extract=extract, message=_message,
                    contract_clause=lc_clause)  # fmt: skip
