"""Logistics notices and bill-of-lading clauses with their plain-language explanations.

As in `fin_explain`, each document and its explanation are rendered from one set of
`Facts`, so containers, ports, dates and charges in the answer match the notice exactly (the
demurrage total is computed, not drawn, so the arithmetic in the answer is right). The clauses
double as the translation task's parallel source sentences (`DomainKit.clause`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sovtrain_synth.instructions.common import Explained, prose_day, render, say
from sovtrain_synth.lexicon.common import Facts, Say, Triple, pick
from sovtrain_synth.lexicon.companies import CORES, brand, company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.numbers import (
    amount,
    container_no,
    currency,
    day,
    later,
    money,
)
from sovtrain_synth.lexicon.places import port
from sovtrain_synth.lexicon.terms_logistics import PACKAGES, SHIPPING_DOCS, vessel

REASONS = [
    ("physical inspection", "開箱查驗", "开箱查验"),
    ("a valuation query", "估價查詢", "价格质疑"),
    ("a check of the import licence", "進口許可證核查", "进口许可证核查"),
    ("a tariff classification review", "商品歸類覆核", "商品归类复核"),
]
HOLD_DOCS = [d for d in SHIPPING_DOCS if d[0] in {
    "commercial invoice", "packing list", "certificate of origin", "import licence",
    "inspection certificate", "health certificate",
}]  # fmt: skip

HOLD_DOC = say(
    ["Customs hold notice: container {ctn} ({goods}, HS {hs}) has been held by customs at "
     "{port} for {reason}. Please submit the {doc} by {deadline}.",
     "Cargo status: HOLD. Customs at {port} has stopped release of container {ctn} carrying "
     "{goods} (HS {hs}) pending {reason}. The consignee must provide the {doc} no later than "
     "{deadline}."],
    ["海關扣貨通知：貨櫃{ctn}（{goods}，商品編碼{hs}）因{reason}被{port}海關扣留。請於{deadline}"
     "或之前提交{doc}。",
     "貨物狀態：扣留。{port}海關因{reason}暫停放行載有{goods}（商品編碼{hs}）的貨櫃{ctn}。收貨人"
     "須於{deadline}或之前提供{doc}。"],
    ["海关扣货通知：集装箱{ctn}（{goods}，商品编码{hs}）因{reason}被{port}海关扣留。请于{deadline}"
     "前提交{doc}。",
     "货物状态：扣留。{port}海关因{reason}暂停放行装有{goods}（商品编码{hs}）的集装箱{ctn}。收货人"
     "须于{deadline}前提供{doc}。"],
)  # fmt: skip
HOLD_ANSWER = say(
    ["Customs at {port} is holding container {ctn} of {goods} for {reason}, so it cannot be "
     "collected yet. The consignee needs to send the {doc} by {deadline} to get the cargo "
     "released.",
     "Container {ctn} has not been released because customs at {port} has stopped it for "
     "{reason}. Providing the {doc} before {deadline} should allow release."],
    ["{port}海關因{reason}扣留了載有{goods}的貨櫃{ctn}，暫時未能提貨。收貨人須於{deadline}或之前"
     "提交{doc}，貨物才可放行。",
     "貨櫃{ctn}尚未放行，原因是{port}海關因{reason}將其扣留。在{deadline}前提供{doc}便可辦理放行。"],
    ["{port}海关因{reason}扣留了装有{goods}的集装箱{ctn}，暂时无法提货。收货人须于{deadline}前"
     "提交{doc}，货物才能放行。",
     "集装箱{ctn}尚未放行，原因是{port}海关因{reason}将其扣留。在{deadline}前提供{doc}即可办理"
     "放行。"],
)  # fmt: skip
# Said in the notice and the answer together, or in neither: an answer never adds a fact.
STORAGE_DOC = say(
    ["Storage charges from {storage} are for the consignee's account.",
     "Storage accrues from {storage}."],
    ["自{storage}起的倉租由收貨人承擔。", "倉租由{storage}起計。"],
    ["自{storage}起的堆存费由收货人承担。", "堆存费自{storage}起计。"],
)  # fmt: skip
STORAGE_ANSWER = say(
    ["Storage charges from {storage} will be billed to the consignee.",
     "Storage costs from {storage} fall on the consignee."],
    ["自{storage}起的倉租將向收貨人收取。", "由{storage}起的倉租由收貨人支付。"],
    ["自{storage}起的堆存费将向收货人收取。", "自{storage}起的堆存费由收货人支付。"],
)  # fmt: skip


def _hold(rng: random.Random) -> Explained:
    f, r = Facts(), rng.random
    hs, _tag, name = goods(rng)
    f.same("hs", hs)
    f.put("goods", name)
    f.same("ctn", container_no(rng))
    f.put("port", port(rng, home=True))
    f.put("reason", pick(rng, REASONS))
    f.put("doc", pick(rng, HOLD_DOCS))
    held = day(rng)
    f.put("deadline", prose_day(rng, later(held, 2 + int(r() * 5))))
    f.put("storage", prose_day(rng, later(held, 1 + int(r() * 4))))
    if r() < 0.4:
        return Explained(render(rng, f, HOLD_DOC, STORAGE_DOC),
                         render(rng, f, HOLD_ANSWER, STORAGE_ANSWER))  # fmt: skip
    return Explained(HOLD_DOC(rng, f), HOLD_ANSWER(rng, f))


DEMURRAGE_DOC = say(
    ["Demurrage notice from {carrier}: container {ctn} was discharged at {port} on {disch}. The "
     "{free} free days ended on {end}, and demurrage of {rate} per day now applies. {days} days "
     "are outstanding, totalling {total}.",
     "Container {ctn} ({port}): discharged {disch}, free time {free} days, expired {end}. "
     "Demurrage at {rate}/day for {days} days = {total}. Please arrange pickup to stop further "
     "charges."],
    ["{carrier}滯期費通知：貨櫃{ctn}於{disch}在{port}卸船。{free}天免費期已於{end}屆滿，現按每天"
     "{rate}收取滯期費。目前已累計{days}天，合共{total}。",
     "貨櫃{ctn}（{port}）：{disch}卸船，免費期{free}天，於{end}屆滿。滯期費每天{rate}，共{days}天，"
     "合計{total}。請盡快安排提櫃，以免費用繼續增加。"],
    ["{carrier}滞期费通知：集装箱{ctn}于{disch}在{port}卸船。{free}天免费期已于{end}届满，现按每天"
     "{rate}收取滞期费。目前已累计{days}天，合计{total}。",
     "集装箱{ctn}（{port}）：{disch}卸船，免费期{free}天，于{end}届满。滞期费每天{rate}，共{days}天，"
     "合计{total}。请尽快安排提箱，以免费用继续增加。"],
)  # fmt: skip
DEMURRAGE_ANSWER = say(
    ["Container {ctn} has stayed at {port} beyond its {free} free days, which ended on {end}. "
     "{carrier} charges {rate} per day, so the {days} days so far cost {total}.",
     "The consignee owes demurrage on container {ctn}: {days} days at {rate} a day, {total} in "
     "total, counted from the end of free time on {end}. The charge keeps growing until the "
     "container is picked up from {port}."],
    ["貨櫃{ctn}在{port}停留已超過{free}天免費期（於{end}屆滿）。{carrier}每天收取{rate}，目前{days}"
     "天合共{total}。",
     "收貨人須為貨櫃{ctn}支付滯期費：由免費期於{end}屆滿起計，共{days}天，每天{rate}，合共{total}。"
     "貨櫃未從{port}提走之前，費用會繼續增加。"],
    ["集装箱{ctn}在{port}停留已超过{free}天免费期（于{end}届满）。{carrier}每天收取{rate}，目前"
     "{days}天合计{total}。",
     "收货人须为集装箱{ctn}支付滞期费：自免费期于{end}届满起计，共{days}天，每天{rate}，合计"
     "{total}。集装箱从{port}提走之前，费用会继续增加。"],
)  # fmt: skip


CARRIER_CORES = [c for c in CORES["l"] if c[0] in {
    "Shipping", "Container Lines", "Marine", "Logistics", "Freight", "Transport",
}]  # fmt: skip


def _carrier(rng: random.Random) -> Triple:
    """A fictional carrier's short name: always a shipping or logistics business."""
    b, core = brand(rng), pick(rng, CARRIER_CORES)
    return (f"{b[0]} {core[0]}", b[1] + core[1], b[2] + core[2])


def _demurrage(rng: random.Random) -> Explained:
    f, r = Facts(), rng.random
    f.put("carrier", _carrier(rng))
    f.same("ctn", container_no(rng))
    f.put("port", port(rng))
    disch = day(rng)
    free = pick(rng, (3, 4, 5, 7, 10, 14))
    f.same("free", str(free))
    f.put("disch", prose_day(rng, disch))
    f.put("end", prose_day(rng, later(disch, free)))
    cur = currency(rng)
    rate = amount(rng, cur, 40, 300)
    days = 2 + int(r() * 25)
    f.same("days", str(days))
    f.put("rate", money(rng, cur, rate, formal=True))
    f.put("total", money(rng, cur, rate * days, formal=True))
    return Explained(DEMURRAGE_DOC(rng, f), DEMURRAGE_ANSWER(rng, f))


# (clause, explanation) pairs from bills of lading; the clause is also a translation source.
BL_CLAUSES: list[tuple[Say, Say]] = [
    (say(["Delivery of the goods at {pod} will be made only against surrender of one original "
          "bill of lading, duly endorsed.",
          "One of the {orig} original bills of lading, duly endorsed, must be surrendered in "
          "exchange for the goods or a delivery order."],
         ["貨物在{pod}只憑一份經妥為背書的正本提單交付。",
          "須交回{orig}份正本提單中經妥為背書的一份，方可換取貨物或提貨單。"],
         ["货物在{pod}仅凭一份经正式背书的正本提单交付。",
          "须交回{orig}份正本提单中经正式背书的一份，方可换取货物或提货单。"]),
     say(["The carrier will release the goods at {pod} only to someone who hands in an original "
          "bill of lading with the proper endorsement. Copies or an unendorsed original are not "
          "enough.",
          "Whoever holds and surrenders a properly endorsed original bill of lading gets the "
          "cargo. Once one original has been used, the others become void."],
         ["承運人只會在{pod}把貨物交給交回已妥為背書正本提單的人。副本或未背書的正本均不足以提貨。",
          "持有並交回經妥為背書正本提單的人便可提貨。其中一份正本用後，其餘各份即告失效。"],
         ["承运人只会在{pod}把货物交给交回经正式背书正本提单的人。副本或未背书的正本均不足以提货。",
          "持有并交回经正式背书正本提单的人即可提货。其中一份正本使用后，其余各份即告失效。"])),
    (say(["Shipper's load, stow and count; said to contain {n} {pkg} of {goods}.",
          "Container packed and sealed by the shipper; said to contain {n} {pkg} of {goods}."],
         ["託運人自行裝櫃、積載及點數；據稱內裝{goods}{n}{pkg}。",
          "貨櫃由託運人裝貨及封櫃；據稱內裝{goods}{n}{pkg}。"],
         ["托运人自行装箱、积载及计数；据称内装{goods}{n}{pkg}。",
          "集装箱由托运人装货及施封；据称内装{goods}{n}{pkg}。"]),
     say(["The shipper packed and counted the cargo, and the carrier only received a sealed "
          "container. The carrier does not confirm that it really holds {n} {pkg} of {goods}, "
          "so it is not liable for shortages inside an intact container.",
          "This clause records that the carrier never saw inside the container: the {n} {pkg} of "
          "{goods} are the shipper's declaration. Claims for missing goods behind an intact seal "
          "are therefore hard to make against the carrier."],
         ["貨物由託運人自行裝櫃及點數，承運人只接收已封好的貨櫃。承運人並不確認櫃內確有{goods}"
          "{n}{pkg}，因此貨櫃完好時毋須為短少負責。",
          "此條款表明承運人從未查看櫃內貨物：{goods}{n}{pkg}只是託運人的申報。若封條完好，就櫃內"
          "貨物短少向承運人索償會十分困難。"],
         ["货物由托运人自行装箱及计数，承运人只接收已施封的集装箱。承运人并不确认箱内确有{goods}"
          "{n}{pkg}，因此集装箱完好时无须对短少负责。",
          "该条款表明承运人从未查看箱内货物：{goods}{n}{pkg}只是托运人的申报。若铅封完好，就箱内"
          "货物短少向承运人索赔会十分困难。"])),
    (say(["Freight collect, payable at {pod}.",
          "Ocean freight and destination charges are payable by the consignee at {pod} before "
          "release."],
         ["運費到付，於{pod}支付。", "海運費及目的港費用須由收貨人於{pod}在放貨前支付。"],
         ["运费到付，在{pod}支付。", "海运费及目的港费用须由收货人在{pod}放货前支付。"]),
     say(["The freight has not been paid by the shipper; the consignee must pay it at {pod}. The "
          "carrier can keep the cargo until the freight is settled.",
          "Under freight collect terms the buyer, as consignee, pays the ocean freight at {pod}. "
          "The goods are released only after payment."],
         ["託運人未有支付運費，收貨人須在{pod}付款。運費未清付前，承運人可扣留貨物。",
          "在運費到付條款下，作為收貨人的買方須在{pod}支付海運費。付款後貨物方會放行。"],
         ["托运人未支付运费，收货人须在{pod}付款。运费付清之前，承运人可留置货物。",
          "在运费到付条款下，作为收货人的买方须在{pod}支付海运费。付款后货物才会放行。"])),
    (say(["{free} days' free time at {pod}; thereafter demurrage and detention are charged at the "
          "carrier's tariff.",
          "Free time at destination: {free} days combined demurrage and detention; charges "
          "thereafter per tariff."],
         ["{pod}免費期為{free}天，其後按承運人收費表收取滯期費及延遲還櫃費。",
          "目的港免費期：滯期及延遲還櫃合共{free}天，其後按收費表收費。"],
         ["{pod}免费期为{free}天，其后按承运人费率表收取滞期费及超期用箱费。",
          "目的港免费期：滞期及超期用箱合计{free}天，其后按费率表收费。"]),
     say(["The consignee has {free} days at {pod} to collect the container and return it empty "
          "without charge. After that, the carrier bills demurrage and detention at its "
          "published rates.",
          "The first {free} days after discharge are free; from then on every extra day costs "
          "money under the carrier's tariff, so quick pickup and return saves costs."],
         ["收貨人在{pod}有{free}天時間免費提櫃及交還空櫃。逾期後，承運人會按公佈的收費表收取"
          "滯期費及延遲還櫃費。",
          "卸船後首{free}天免費；之後每多一天都須按承運人的收費表付費，因此盡快提櫃及還櫃可節省"
          "成本。"],
         ["收货人在{pod}有{free}天时间免费提箱及归还空箱。超期后，承运人会按公布的费率收取"
          "滞期费及超期用箱费。",
          "卸船后前{free}天免费；之后每多一天都须按承运人的费率付费，因此尽快提箱及还箱可节省"
          "成本。"])),
    (say(["Shipped on board {vessel} at {pol} on {onboard} in apparent good order and condition.",
          "Clean on board: loaded on {vessel} at {pol}, {onboard}."],
         ["貨物已於{onboard}在{pol}裝上{vessel}，外表狀況良好。",
          "清潔已裝船：{onboard}於{pol}裝上{vessel}。"],
         ["货物已于{onboard}在{pol}装上{vessel}，表面状况良好。",
          "清洁已装船：{onboard}在{pol}装上{vessel}。"]),
     say(["The carrier confirms that the goods were loaded on {vessel} at {pol} on {onboard} and "
          "looked undamaged. Banks usually require this clean on-board notation under a letter "
          "of credit.",
          "This notation proves shipment: the cargo went on board {vessel} at {pol} on "
          "{onboard}, with no remarks about damage. The date also counts as the shipment date."],
         ["承運人確認貨物已於{onboard}在{pol}裝上{vessel}，外表沒有損壞。銀行在信用證下通常要求"
          "這種清潔已裝船批註。",
          "此批註證明貨物已付運：貨物於{onboard}在{pol}裝上{vessel}，沒有任何損壞批註。該日期亦"
          "視為裝運日期。"],
         ["承运人确认货物已于{onboard}在{pol}装上{vessel}，外表没有损坏。银行在信用证项下通常要求"
          "这种清洁已装船批注。",
          "该批注证明货物已发运：货物于{onboard}在{pol}装上{vessel}，没有任何损坏批注。该日期也"
          "视为装运日期。"])),
    (say(["Notify party: {co}. Failure to give notice of arrival shall not involve the carrier in "
          "any liability.",
          "Arrival notice to be sent to {co}; the carrier is not liable if the notice is not "
          "received."],
         ["通知方：{co}。承運人未能發出到貨通知，概不負任何責任。",
          "到貨通知將發送予{co}；如未能收到通知，承運人概不負責。"],
         ["通知方：{co}。承运人未能发出到货通知的，不承担任何责任。",
          "到货通知将发送给{co}；如未收到通知，承运人不承担责任。"]),
     say(["The carrier will tell {co} when the ship arrives, but only as a courtesy. If the "
          "notice is late or missing, the carrier is not responsible, so the consignee should "
          "track the arrival itself.",
          "{co} is the party to be informed of arrival. The carrier takes no responsibility for "
          "a missed notice, so charges such as demurrage still apply."],
         ["船隻抵港時承運人會通知{co}，但這只屬禮貌性質。即使通知延誤或遺漏，承運人亦毋須負責，"
          "因此收貨人應自行留意到港時間。",
          "{co}是到貨時須獲通知的一方。承運人不會為未發出的通知負責，因此滯期費等費用仍然照收。"],
         ["船舶抵港时承运人会通知{co}，但这只是礼节性安排。即使通知延误或遗漏，承运人也无须负责，"
          "因此收货人应自行跟踪到港时间。",
          "{co}是到货时须获通知的一方。承运人不会为未发出的通知负责，因此滞期费等费用仍会照收。"])),
]  # fmt: skip


def _bl_facts(rng: random.Random) -> Facts:
    """Every slot any bill-of-lading clause uses, drawn once whichever clause is picked."""
    f, r = Facts(), rng.random
    f.put("pod", port(rng, foreign=True))
    f.put("pol", port(rng, home=True))
    f.put("orig", pick(rng, [("three", "三", "三"), ("two", "兩", "两")]))
    f.same("n", f"{10 + int(r() * 2000):,}")
    f.put("pkg", pick(rng, PACKAGES))
    f.put("goods", goods(rng)[2])
    f.same("free", str(pick(rng, (3, 5, 7, 10, 14))))
    f.put("vessel", vessel(rng))
    f.put("onboard", prose_day(rng, day(rng)))
    f.put("co", company(rng)[1])
    return f


def bl_clause(rng: random.Random) -> Explained:
    """One bill-of-lading clause and its explanation, from one draw of facts."""
    clause_say, explain_say = pick(rng, BL_CLAUSES)
    f = _bl_facts(rng)
    return Explained(clause_say(rng, f), explain_say(rng, f))


EXPLAINERS: list[Callable[[random.Random], Explained]] = [
    _hold, _hold, _demurrage, _demurrage, bl_clause, bl_clause,
]  # fmt: skip


def explain(rng: random.Random) -> Explained:
    """A customs hold, a demurrage notice or a bill-of-lading clause, explained."""
    return pick(rng, EXPLAINERS)(rng)
