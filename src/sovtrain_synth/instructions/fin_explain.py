"""Finance notices and letter-of-credit clauses with their plain-language explanations.

Each notice is drawn as `Facts` and rendered twice through aligned `Say` variants: once as the
document a customer receives, once as the 2-3 sentence answer an assistant should give. The
answer restates the same facts (amounts, dates, ratios), so a model is rewarded for carrying
numbers across correctly rather than for paraphrasing loosely. The clauses double as the
source sentences of the translation task (`DomainKit.clause`), their three renderings
being parallel.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sovtrain_synth.instructions.common import Explained, percent, prose_day, render, say
from sovtrain_synth.lexicon.common import Facts, Say, pick
from sovtrain_synth.lexicon.companies import bank, company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.numbers import (
    amount,
    currency,
    day,
    digits,
    later,
    letters,
    money,
    price,
    sig,
)
from sovtrain_synth.lexicon.places import ADDRESS_CITIES, port

# ---- results announcement ---------------------------------------------------------------
RESULTS_DOC = say(
    ["{co} announces its results for {period}. Revenue was {rev}, {yoy}. {pl} was {profit}.",
     "Results announcement: for {period}, {co} recorded revenue of {rev} ({yoy}) and {pl_l} of "
     "{profit}."],
    ["{co}公佈{period}業績。收入為{rev}，{yoy}。{pl}為{profit}。",
     "業績公告：{co}於{period}錄得收入{rev}（{yoy}），{pl}{profit}。"],
    ["{co}公布{period}业绩。营业收入为{rev}，{yoy}。{pl}为{profit}。",
     "业绩公告：{co}{period}实现营业收入{rev}（{yoy}），{pl}{profit}。"],
)  # fmt: skip
DIV_DOC = say(
    ["The board recommends {divkind} dividend of {dps} per share.",
     "{divkind} dividend of {dps} per share is proposed."],
    ["董事會建議派發{divkind}股息每股{dps}。", "建議派發{divkind}股息每股{dps}。"],
    ["董事会建议派发{divkind}股息每股{dps}。", "拟派发{divkind}股息每股{dps}。"],
)  # fmt: skip
NO_DIV_DOC = say(
    ["The board does not recommend a dividend.", "No dividend is proposed for the period."],
    ["董事會不建議派發股息。", "本期不派發股息。"],
    ["董事会不建议派发股息。", "本期不派发股息。"],
)
RESULTS_ANSWER = say(
    ["This is {short}'s results announcement for {period}. Revenue {moved} to {rev}, and "
     "{pl_l} was {profit}.",
     "{short} says its revenue for {period} was {rev}, {yoy}. Its {pl_l} came to {profit}."],
    ["這是{short}{period}的業績公告。收入{moved}至{rev}，{pl}為{profit}。",
     "{short}表示，{period}收入為{rev}，{yoy}；{pl}為{profit}。"],
    ["这是{short}{period}的业绩公告。营业收入{moved}至{rev}，{pl}为{profit}。",
     "{short}表示，{period}营业收入为{rev}，{yoy}；{pl}为{profit}。"],
)  # fmt: skip
DIV_ANSWER = say(
    ["Shareholders would receive {divkind} dividend of {dps} per share if it is approved.",
     "The company plans to pay {dps} per share as {divkind} dividend."],
    ["如獲批准，股東可獲派{divkind}股息每股{dps}。", "公司計劃派發{divkind}股息每股{dps}。"],
    ["如获批准，股东可获派{divkind}股息每股{dps}。", "公司计划派发{divkind}股息每股{dps}。"],
)  # fmt: skip
NO_DIV_ANSWER = say(
    ["No dividend will be paid for this period.", "Shareholders will not receive a dividend "
     "this time."],
    ["本期不會派發股息。", "股東今次不會獲派股息。"],
    ["本期不会派发股息。", "股东本次不会获得股息。"],
)  # fmt: skip


def _results(rng: random.Random) -> Explained:
    f, r = Facts(), rng.random
    full, short = company(rng)
    f.put("co", full)
    f.put("short", short)
    year = 2019 + int(r() * 8)
    if r() < 0.5:
        f.put("period", (f"the year ended 31 December {year}", f"截至{year}年12月31日止年度",
                         f"截至{year}年12月31日止年度"))  # fmt: skip
        f.put("divkind", ("a final", "末期", "末期"))  # English carries its article
    else:
        f.put("period", (f"the six months ended 30 June {year}", f"截至{year}年6月30日止六個月",
                         f"截至{year}年6月30日止六个月"))  # fmt: skip
        f.put("divkind", ("an interim", "中期", "中期"))
    cur = currency(rng)
    revenue = amount(rng, cur, 5e6, 5e9)
    f.put("rev", money(rng, cur, revenue))
    p = percent(0.5 + r() * 35)
    if r() < 0.6:
        f.put("yoy", (f"up {p}% year on year", f"按年上升{p}%", f"同比增长{p}%"))
        f.put("moved", (f"rose {p}%", f"上升{p}%", f"增长{p}%"))
    else:
        f.put("yoy", (f"down {p}% year on year", f"按年下跌{p}%", f"同比下降{p}%"))
        f.put("moved", (f"fell {p}%", f"下跌{p}%", f"下降{p}%"))
    profitable = r() < 0.8
    gain = ("Profit attributable to shareholders", "股東應佔溢利", "归属于股东的净利润")
    loss = ("Loss attributable to shareholders", "股東應佔虧損", "归属于股东的净亏损")
    label = gain if profitable else loss
    f.put("pl", label)
    f.put("pl_l", (label[0].lower(), label[1], label[2]))
    f.put("profit", money(rng, cur, sig(rng, revenue * 0.01, revenue * 0.25)))
    f.put("dps", price(cur, 5 + int(r() * 300)))
    paying = profitable and r() < 0.8
    document = render(rng, f, RESULTS_DOC, DIV_DOC if paying else NO_DIV_DOC)
    answer = render(rng, f, RESULTS_ANSWER, DIV_ANSWER if paying else NO_DIV_ANSWER)
    return Explained(document, answer)


# ---- margin call ------------------------------------------------------------------------
MARGIN_DOC = say(
    ["Margin call from {bank}: the securities pledged to account {acct} are now worth {value}, "
     "raising the loan-to-value ratio to {ltv}% (limit {limit}%). Please deposit {topup} or "
     "repay part of the loan by {deadline}, or the bank may sell the collateral.",
     "{bank} notice: following the market fall, the loan-to-value ratio of margin account "
     "{acct} is {ltv}%, above the {limit}% limit (collateral value {value}). Top up {topup} by "
     "{deadline}, or the bank may liquidate the pledged securities."],
    ["{bank}補倉通知：閣下戶口{acct}所抵押證券的市值已跌至{value}，令貸款價值比率升至{ltv}%，"
     "高於{limit}%的上限。請於{deadline}或之前存入{topup}或償還部分貸款，否則本行可出售抵押品。",
     "{bank}通知：因市況下跌，孖展戶口{acct}的貸款價值比率為{ltv}%，超出{limit}%的上限（抵押品"
     "市值{value}）。請於{deadline}或之前補倉{topup}，否則本行可將抵押證券平倉。"],
    ["{bank}追加保证金通知：您账户{acct}所质押证券的市值已跌至{value}，贷款价值比升至{ltv}%，"
     "高于{limit}%的上限。请于{deadline}前存入{topup}或偿还部分贷款，否则我行可出售抵押品。",
     "{bank}通知：因市场下跌，融资账户{acct}的贷款价值比为{ltv}%，超出{limit}%的上限（抵押品"
     "市值{value}）。请于{deadline}前追加保证金{topup}，否则我行可对质押证券进行平仓。"],
)  # fmt: skip
MARGIN_ANSWER = say(
    ["The securities backing account {acct} have fallen to {value}, so the loan-to-value ratio "
     "is now {ltv}%, above the {limit}% limit. The customer must deposit {topup} or pay down "
     "the loan by {deadline}. If not, {bank} may sell the pledged securities.",
     "This is a margin call: the collateral in account {acct} is worth less, pushing the "
     "loan-to-value ratio to {ltv}% when the maximum is {limit}%. To fix it, {topup} has to be "
     "added or repaid by {deadline}, otherwise the bank can sell the securities."],
    ["戶口{acct}的抵押證券市值已跌至{value}，貸款價值比率升至{ltv}%，超過{limit}%的上限。客戶須"
     "於{deadline}或之前存入{topup}或償還部分貸款，否則{bank}可出售抵押證券。",
     "這是一份補倉通知：戶口{acct}的抵押品價值下跌，令貸款價值比率升至{ltv}%，而上限為{limit}%。"
     "客戶須在{deadline}或之前補回{topup}，否則銀行可出售有關證券。"],
    ["账户{acct}的质押证券市值已跌至{value}，贷款价值比升至{ltv}%，超过{limit}%的上限。客户须于"
     "{deadline}前存入{topup}或偿还部分贷款，否则{bank}可出售质押证券。",
     "这是一份追加保证金通知：账户{acct}的抵押品价值下跌，使贷款价值比升至{ltv}%，而上限为"
     "{limit}%。客户须在{deadline}前补足{topup}，否则银行可出售相关证券。"],
)  # fmt: skip


def _margin(rng: random.Random) -> Explained:
    f, r = Facts(), rng.random
    f.put("bank", bank(rng)[1])
    f.same("acct", f"{digits(rng, 3)}-{digits(rng, 6)}-{digits(rng, 3)}")
    cur = currency(rng)
    f.put("value", money(rng, cur, amount(rng, cur, 2e4, 5e6)))
    f.put("topup", money(rng, cur, amount(rng, cur, 2e3, 3e5)))
    limit = pick(rng, (50, 60, 65, 70, 75))
    f.same("limit", str(limit))
    f.same("ltv", percent(limit + 1 + r() * 15))
    f.put("deadline", prose_day(rng, day(rng)))
    return Explained(MARGIN_DOC(rng, f), MARGIN_ANSWER(rng, f))


# ---- interest rate change -----------------------------------------------------------------
RATE_DOC = say(
    ["Notice of interest rate change: with effect from {eff}, the interest rate on your {ltype} "
     "{loan} will change from {bench} + {old}% to {bench} + {new}% per annum. Your monthly "
     "instalment will become {inst}.",
     "{bank} advises that the rate on {ltype} {loan} is revised to {bench} + {new}% p.a. "
     "(previously {bench} + {old}%) from {eff}; the new monthly instalment is {inst}."],
    ["利率調整通知：由{eff}起，閣下{ltype}{loan}的利率將由{bench}加{old}%調整為{bench}加{new}%"
     "（年利率），每月供款將變為{inst}。",
     "{bank}通知，{ltype}{loan}的利率由{eff}起改為年利率{bench}加{new}%（原為{bench}加{old}%），"
     "新的每月供款為{inst}。"],
    ["利率调整通知：自{eff}起，您的{ltype}{loan}利率将由{bench}加{old}%调整为{bench}加{new}%"
     "（年利率），每月还款额将变为{inst}。",
     "{bank}通知，{ltype}{loan}的利率自{eff}起调整为年利率{bench}加{new}%（原为{bench}加{old}%），"
     "新的每月还款额为{inst}。"],
)  # fmt: skip
RATE_ANSWER = say(
    ["{bank} is {raising} the rate on {ltype} {loan} from {bench} plus {old}% to {bench} plus "
     "{new}% a year, starting {eff}. The monthly instalment will therefore be {inst}.",
     "From {eff}, the borrower pays {bench} + {new}% instead of {bench} + {old}% on {ltype} "
     "{loan}. Each monthly instalment becomes {inst}, so the repayment account should hold "
     "enough to cover it."],
    ["{bank}將由{eff}起把{ltype}{loan}的利率由{bench}加{old}%{raising}至{bench}加{new}%。因此每月"
     "供款將變為{inst}。",
     "由{eff}起，借款人的{ltype}{loan}將按{bench}加{new}%計息，而非原來的{bench}加{old}%。每月"
     "供款變為{inst}，還款戶口須有足夠款項。"],
    ["{bank}将自{eff}起把{ltype}{loan}的利率由{bench}加{old}%{raising}至{bench}加{new}%。因此每月"
     "还款额将变为{inst}。",
     "自{eff}起，借款人的{ltype}{loan}将按{bench}加{new}%计息，而不是原来的{bench}加{old}%。每月"
     "还款额变为{inst}，还款账户须有足够资金。"],
)  # fmt: skip
LOAN_TYPES = [
    ("mortgage loan", "按揭貸款", "住房抵押贷款"),
    ("term loan", "有期貸款", "定期贷款"),
    ("revolving loan", "循環貸款", "循环贷款"),
]
BENCH = [("HIBOR", "香港銀行同業拆息", "香港银行同业拆息"), ("Prime", "最優惠利率", "最优惠利率")]


def _rate(rng: random.Random) -> Explained:
    f, r = Facts(), rng.random
    f.put("bank", bank(rng)[1])
    f.put("ltype", pick(rng, LOAN_TYPES))
    f.same("loan", f"{letters(rng, 2)}{digits(rng, 8)}")
    f.put("eff", prose_day(rng, day(rng)))
    f.put("bench", pick(rng, BENCH))
    old = 100 + int(r() * 200)
    new = old + pick(rng, (-50, -25, -20, -10, 10, 20, 25, 50))
    f.same("old", percent(old / 100) if old % 10 == 0 else f"{old / 100:.2f}")
    f.same("new", percent(new / 100) if new % 10 == 0 else f"{new / 100:.2f}")
    f.put("raising", ("raising", "上調", "上调") if new > old else ("lowering", "下調", "下调"))
    cur = currency(rng)
    f.put("inst", money(rng, cur, amount(rng, cur, 300, 2e4), formal=True))
    return Explained(RATE_DOC(rng, f), RATE_ANSWER(rng, f))


# ---- letter of credit clauses --------------------------------------------------------------
def _lc_facts(rng: random.Random) -> Facts:
    """Every slot any LC clause uses, so one draw serves whichever clause is picked."""
    f, r = Facts(), rng.random
    f.same("n", str(pick(rng, (7, 10, 14, 15, 21))))
    f.same("tenor", str(pick(rng, (30, 60, 90, 120, 180))))
    ship = day(rng)
    f.put("ship", prose_day(rng, ship))
    f.put("expiry", prose_day(rng, later(ship, 21 + int(r() * 15))))
    f.put("city", pick(rng, ADDRESS_CITIES))
    f.put("pol", port(rng, home=True))
    f.put("pod", port(rng, foreign=True))
    f.put("hub", port(rng))
    f.put("bank", bank(rng)[1])
    f.put("goods", goods(rng)[2])
    cur = currency(rng)
    value = amount(rng, cur, 2e4, 5e6) // 100 * 100
    t = pick(rng, (5, 10))
    f.same("t", str(t))
    f.put("amount", money(rng, cur, value, formal=True))
    f.put("low", money(rng, cur, value * (100 - t) // 100, formal=True))
    f.put("high", money(rng, cur, value * (100 + t) // 100, formal=True))
    fee_cur = currency(rng)
    f.put("fee", money(rng, fee_cur, amount(rng, fee_cur, 50, 150), formal=True))
    return f


# (clause, explanation) pairs; the clause is also a translation source.
LC_CLAUSES: list[tuple[Say, Say]] = [
    (say(["Documents must be presented within {n} days after the date of shipment but within "
          "the validity of the credit, which expires on {expiry} in {city}.",
          "Period for presentation: {n} days after the shipment date, and in any event not later "
          "than {expiry}, the expiry date of this credit in {city}."],
         ["單據須於裝運日期後{n}天內提交，並須在信用證有效期內；信用證於{expiry}在{city}到期。",
          "交單期限：裝運日期後{n}天內，且無論如何不得遲於本信用證於{city}的到期日{expiry}。"],
         ["单据须于装运日期后{n}天内提交，并须在信用证有效期内；信用证于{expiry}在{city}到期。",
          "交单期限：装运日期后{n}天内，且无论如何不得迟于本信用证在{city}的到期日{expiry}。"]),
     say(["The beneficiary has {n} days from shipment to present the documents, and never later "
          "than {expiry}, when the credit expires in {city}. Documents presented after either "
          "deadline can be refused.",
          "This sets two deadlines: {n} days after the shipment date, and the credit's expiry on "
          "{expiry} in {city}. Whichever comes first applies; late documents are discrepant."],
         ["受益人須在裝運後{n}天內交單，而且最遲不得超過信用證在{city}到期的{expiry}。逾期提交的"
          "單據可被拒收。",
          "此條款設有兩個期限：裝運日期後{n}天，以及信用證於{expiry}在{city}到期。以較早者為準，"
          "逾期交單即屬不符。"],
         ["受益人须在装运后{n}天内交单，而且最迟不得超过信用证在{city}到期的{expiry}。逾期提交的"
          "单据可被拒收。",
          "该条款设有两个期限：装运日期后{n}天，以及信用证于{expiry}在{city}到期。以较早者为准，"
          "逾期交单即构成不符点。"])),
    (say(["Partial shipments are not allowed; transhipment is permitted only at {hub}.",
          "Shipment from {pol} to {pod} must be made in one lot, with transhipment allowed only at "
          "{hub}."],
         ["不允許分批裝運；只可在{hub}轉運。",
          "貨物須由{pol}一次過裝運至{pod}，只可在{hub}轉運。"],
         ["不允许分批装运；仅可在{hub}转运。",
          "货物须由{pol}一次性装运至{pod}，仅可在{hub}转运。"]),
     say(["All the goods must go in a single shipment; splitting them over several sailings is "
          "not acceptable. They may change vessel only at {hub}.",
          "The seller cannot ship the goods in parts: one shipment covers the whole order. "
          "Changing ships en route is only allowed at {hub}."],
         ["所有貨物必須一次過付運，不可分開多班船裝運。貨物只可在{hub}轉船。",
          "賣方不可分批出貨，整批貨物須一次裝運。途中只准在{hub}轉船。"],
         ["所有货物必须一次性发运，不得分多个航次装运。货物只能在{hub}转船。",
          "卖方不得分批出货，整批货物须一次装运。途中只允许在{hub}转船。"])),
    (say(["The credit amount is {amount}; {t}% more or less in amount and in the quantity of "
          "{goods} is acceptable.",
          "Credit amount {amount}, with a tolerance of +/-{t}% on both the amount and the quantity "
          "of {goods}."],
         ["信用證金額為{amount}；金額及{goods}數量均可增減{t}%。",
          "信用證金額{amount}，金額及{goods}數量容許上下{t}%的差額。"],
         ["信用证金额为{amount}；金额及{goods}数量均可增减{t}%。",
          "信用证金额{amount}，金额及{goods}数量允许上下浮动{t}%。"]),
     say(["The bank will accept drawings up to {t}% above or below {amount}, that is between "
          "{low} and {high}. The quantity of {goods} shipped may also vary by {t}%.",
          "A {t}% tolerance applies: the beneficiary may draw anywhere from {low} to {high}, and "
          "ship up to {t}% more or less {goods} than stated."],
         ["銀行接受比{amount}多或少{t}%的支款，即介乎{low}至{high}之間。付運的{goods}數量亦可"
          "相差{t}%。",
          "此條款容許{t}%的增減：受益人可支取{low}至{high}，而{goods}的付運數量亦可多或少{t}%。"],
         ["银行接受比{amount}多或少{t}%的支款，即介于{low}至{high}之间。发运的{goods}数量也可"
          "相差{t}%。",
          "该条款允许{t}%的增减：受益人可支取{low}至{high}，{goods}的发运数量也可多或少{t}%。"])),
    (say(["A discrepancy fee of {fee} will be deducted from the proceeds of each presentation of "
          "discrepant documents.",
          "Each set of discrepant documents is subject to a fee of {fee}, for the beneficiary's "
          "account."],
         ["每次提交有不符點的單據，將從款項中扣除不符點費用{fee}。",
          "每套不符單據須收取{fee}費用，由受益人承擔。"],
         ["每次提交有不符点的单据，将从款项中扣除不符点费{fee}。",
          "每套不符单据收取{fee}费用，由受益人承担。"]),
     say(["If the documents do not match the credit's terms, the bank charges {fee} for each "
          "presentation and takes it out of the payment. The documents should therefore be "
          "checked carefully before they are presented.",
          "This clause makes the beneficiary pay {fee} whenever discrepant documents are "
          "presented. Getting the documents right the first time avoids the charge."],
         ["如單據與信用證條款不符，銀行每次交單會收取{fee}，並從付款中扣除。因此交單前應仔細"
          "核對單據。",
          "根據此條款，每當提交不符單據，受益人須支付{fee}。首次交單便確保單據正確，就可避免這筆"
          "費用。"],
         ["如单据与信用证条款不符，银行每次交单会收取{fee}，并从付款中扣除。因此交单前应仔细"
          "核对单据。",
          "根据该条款，每当提交不符单据，受益人须支付{fee}。首次交单就确保单据正确，即可避免这笔"
          "费用。"])),
    (say(["Latest date of shipment: {ship}. Bills of lading dated later than this date are not "
          "acceptable.",
          "Shipment from {pol} must be effected not later than {ship}."],
         ["最遲裝運日期：{ship}。提單日期遲於此日期者恕不接受。",
          "貨物須於{ship}或之前從{pol}裝運。"],
         ["最迟装运日期：{ship}。提单日期晚于该日期的，恕不接受。",
          "货物须于{ship}或之前从{pol}装运。"]),
     say(["The goods must be shipped on or before {ship}; the date on the bill of lading counts "
          "as the shipment date. A later date is a discrepancy, and the bank may refuse to pay.",
          "The seller has until {ship} to ship the goods. If the transport document shows a "
          "later date, the documents will not comply with the credit."],
         ["貨物必須在{ship}或之前付運，提單上的日期即視為裝運日期。日期較遲即屬不符點，銀行可"
          "拒絕付款。",
          "賣方最遲須在{ship}裝運貨物。如運輸單據顯示的日期較遲，單據即與信用證不符。"],
         ["货物必须在{ship}或之前发运，提单日期即视为装运日期。日期晚于该日即构成不符点，银行可"
          "拒绝付款。",
          "卖方最迟须在{ship}装运货物。如运输单据显示的日期更晚，单据即与信用证不符。"])),
    (say(["Drafts at {tenor} days after the bill of lading date, drawn on {bank}.",
          "Available by acceptance of drafts drawn on {bank} at {tenor} days after the bill of "
          "lading date."],
         ["匯票期限為提單日後{tenor}天，以{bank}為付款人。",
          "以承兌方式兌付，匯票以{bank}為付款人，期限為提單日後{tenor}天。"],
         ["汇票期限为提单日后{tenor}天，以{bank}为付款人。",
          "以承兑方式兑付，汇票以{bank}为付款人，期限为提单日后{tenor}天。"]),
     say(["This is a usance credit: {bank} pays {tenor} days after the bill of lading date, not "
          "on presentation. The beneficiary waits for payment or may ask a bank to discount the "
          "accepted draft.",
          "Payment is deferred: the draft is drawn on {bank} and falls due {tenor} days after the "
          "bill of lading date. Until then, the seller is in effect giving the buyer credit."],
         ["這是遠期信用證：{bank}在提單日後{tenor}天才付款，而非交單時付款。受益人須等候付款，"
          "或可要求銀行貼現已承兌的匯票。",
          "付款屬延後性質：匯票以{bank}為付款人，於提單日後{tenor}天到期。在此之前，賣方實際上是"
          "向買方提供信貸。"],
         ["这是远期信用证：{bank}在提单日后{tenor}天才付款，而不是交单时付款。受益人须等待付款，"
          "或可要求银行对已承兑的汇票进行贴现。",
          "付款属于延期性质：汇票以{bank}为付款人，于提单日后{tenor}天到期。在此之前，卖方实际上"
          "是向买方提供信用。"])),
]  # fmt: skip


def lc_clause(rng: random.Random) -> Explained:
    """One LC clause and its explanation, from one draw of facts."""
    clause, explain = pick(rng, LC_CLAUSES)
    f = _lc_facts(rng)
    return Explained(clause(rng, f), explain(rng, f))


EXPLAINERS: list[Callable[[random.Random], Explained]] = [
    _results, _results, _margin, _rate, lc_clause, lc_clause,
]  # fmt: skip


def explain(rng: random.Random) -> Explained:
    """A results announcement, a margin call or rate notice, or an LC clause, explained."""
    return pick(rng, EXPLAINERS)(rng)
