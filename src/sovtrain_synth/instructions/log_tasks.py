"""Logistics classification messages and extraction documents, and the logistics `DomainKit`.

Classification messages are shipment-status and exception notes of the kind a forwarder's
inbox fills with; each label has several templates so that no single word decides the label.
Extraction documents are bill-of-lading and customs-declaration excerpts laid out as forms,
each asked value appearing verbatim on its own line.
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
    prose_day,
    say,
    shown_and_asked,
)
from sovtrain_synth.instructions.log_explain import bl_clause, explain
from sovtrain_synth.lexicon.common import Facts, Say, Triple, pick
from sovtrain_synth.lexicon.companies import bank, company
from sovtrain_synth.lexicon.goods import goods
from sovtrain_synth.lexicon.numbers import (
    amount,
    container_no,
    currency,
    day,
    digits,
    letters,
    money,
)
from sovtrain_synth.lexicon.places import any_place, facility, port, port_with_code
from sovtrain_synth.lexicon.terms_logistics import EVENTS, PACKAGES, vessel

LABELS = ("customs-hold", "damage", "delay", "documentation", "cleared")
DELAY_EVENTS = [e for e in EVENTS if e[0] in {
    "Typhoon Signal No. 8", "a Black Rainstorm Warning", "dense fog in the approach channel",
    "berth congestion", "a quay crane breakdown", "a terminal system outage",
    "a blank sailing by the carrier", "vessel bunching after earlier delays",
}]  # fmt: skip

MESSAGES: dict[str, Say] = {
    "customs-hold": say(
        ["Container {ctn} has been selected for inspection by customs at {port}; release is on "
         "hold pending examination.",
         "Customs has held declaration {decl} for a valuation query on {goods}; the cargo cannot "
         "be collected until it is resolved.",
         "The {goods} (HS {hs}) in container {ctn} are held at {port} awaiting an import licence "
         "check."],
        ["貨櫃{ctn}已被{port}海關抽選查驗，在查驗完成前暫停放行。",
         "海關因{goods}的估價查詢扣留報關單{decl}，問題解決前不能提貨。",
         "貨櫃{ctn}內的{goods}（商品編碼{hs}）正被扣留於{port}，等候進口許可證核查。"],
        ["集装箱{ctn}已被{port}海关抽中查验，查验完成前暂停放行。",
         "海关因{goods}的价格质疑扣留报关单{decl}，问题解决前无法提货。",
         "集装箱{ctn}内的{goods}（商品编码{hs}）正被扣留在{port}，等待进口许可证核查。"],
    ),
    "damage": say(
        ["On unloading at {facility}, {n} {pkg} of {goods} were found crushed; photos are "
         "attached for the survey.",
         "Container {ctn}: water came in through a leaking roof and {n} {pkg} of {goods} are wet.",
         "Reefer {ctn} ran above its set temperature for {h} hours; the {goods} may be spoiled "
         "and a surveyor has been requested."],
        ["於{facility}卸貨時，發現{goods}{n}{pkg}被壓損，現附上相片供檢驗之用。",
         "貨櫃{ctn}：櫃頂滲漏入水，{goods}{n}{pkg}受潮濕損。",
         "冷凍櫃{ctn}溫度高於設定值達{h}小時，{goods}或已變壞，已要求檢驗師到場。"],
        ["在{facility}卸货时，发现{goods}{n}{pkg}被压损，现附上照片供检验使用。",
         "集装箱{ctn}：箱顶渗漏进水，{goods}{n}{pkg}受潮湿损。",
         "冷藏箱{ctn}温度高于设定值达{h}小时，{goods}可能已变质，已申请检验师到场。"],
    ),
    "delay": say(
        ["{vessel} will arrive at {port} {days} days late owing to port congestion; the new ETA "
         "is {date}.",
         "Owing to {event}, shipment {ref} at {port} is delayed to {date}.",
         "Shipment {ref} missed its connection at {port}; delivery is now expected on {date}."],
        ["{vessel}因港口擠塞將延遲{days}天抵達{port}，新的預計到港日期為{date}。",
         "受{event}影響，{port}的貨件{ref}延至{date}。",
         "貨件{ref}在{port}錯過轉運，預計改於{date}交付。"],
        ["{vessel}因港口拥堵将延迟{days}天抵达{port}，新的预计到港日期为{date}。",
         "受{event}影响，{port}的货件{ref}延至{date}。",
         "货件{ref}在{port}错过中转，预计改于{date}交付。"],
    ),
    "documentation": say(
        ["The commercial invoice for shipment {ref} shows HS code {hs}, but the packing list "
         "shows {hs2}; please correct and resubmit.",
         "The certificate of origin for the {goods} in container {ctn} is missing; please send it "
         "before the declaration is lodged.",
         "The consignee name on bill of lading {bl} does not match the letter of credit; please "
         "amend the B/L."],
        ["貨件{ref}的商業發票列明商品編碼{hs}，但裝箱單顯示{hs2}，請更正後重新提交。",
         "貨櫃{ctn}內{goods}的產地來源證尚未提交，請於報關前補交。",
         "提單{bl}上的收貨人名稱與信用證不符，請修改提單。"],
        ["货件{ref}的商业发票列明商品编码{hs}，但装箱单显示{hs2}，请更正后重新提交。",
         "集装箱{ctn}内{goods}的原产地证书尚未提交，请在报关前补交。",
         "提单{bl}上的收货人名称与信用证不符，请修改提单。"],
    ),
    "cleared": say(
        ["Declaration {decl} has been accepted; container {ctn} was released on {date} and is "
         "ready for collection.",
         "Customs clearance for the {goods} at {port} is complete, with duties of {amount} paid.",
         "Shipment {ref} cleared customs at {port} on {date}; delivery to {place} is scheduled."],
        ["報關單{decl}已獲接納，貨櫃{ctn}已於{date}放行，可安排提貨。",
         "{goods}已在{port}完成清關，已繳稅款{amount}。",
         "貨件{ref}已於{date}在{port}清關，並已安排送往{place}。"],
        ["报关单{decl}已获接受，集装箱{ctn}已于{date}放行，可安排提货。",
         "{goods}已在{port}完成清关，已缴税款{amount}。",
         "货件{ref}已于{date}在{port}清关，并已安排送往{place}。"],
    ),
}  # fmt: skip


def _declaration_no(rng: random.Random, importing: bool) -> str:
    return f"{'I' if importing else 'E'}{digits(rng, 12)}"


def _message(rng: random.Random, label: str) -> Triple:
    """One message of category `label`, with every slot any template uses drawn."""
    f, r = Facts(), rng.random
    f.same("ctn", container_no(rng))
    f.put("port", port(rng))
    f.same("decl", _declaration_no(rng, r() < 0.6))
    hs, _tag, name = goods(rng)
    f.same("hs", hs)
    f.same("hs2", goods(rng)[0])
    f.put("goods", name)
    f.put("facility", facility(rng))
    f.same("n", f"{2 + int(r() * 400):,}")
    f.put("pkg", pick(rng, PACKAGES))
    f.same("h", str(2 + int(r() * 20)))
    f.put("vessel", vessel(rng))
    f.same("days", str(1 + int(r() * 9)))
    f.put("date", prose_day(rng, day(rng)))
    f.put("event", pick(rng, DELAY_EVENTS))
    f.same("ref", f"{letters(rng, 3)}{digits(rng, 7)}")
    f.same("bl", f"{letters(rng, 4)}{digits(rng, 8)}")
    cur = currency(rng)
    f.put("amount", money(rng, cur, amount(rng, cur, 100, 2e5)))
    f.put("place", any_place(rng))
    return MESSAGES[label](rng, f)


def _plain_vessel(rng: random.Random) -> Triple:
    """A vessel name without the Chinese quotation marks, as a form's vessel box shows it."""
    en, hant, hans = vessel(rng)
    return (en, hant.strip("「」"), hans.strip("“”"))


def _weight(rng: random.Random) -> Triple:
    kg = 200 + rng.random() * 28_000
    return (f"{kg:,.1f} KGS", f"{kg:,.1f}公斤", f"{kg:,.1f}千克")


def _consignee(rng: random.Random) -> Triple:
    if rng.random() < 0.3:
        b = bank(rng)[0]
        return (f"To order of {b[0]}", f"憑{b[1]}指示", f"凭{b[2]}指示")
    return company(rng)[0]


def _bill_of_lading(rng: random.Random) -> tuple[Triple, list[tuple[str, Triple, Triple]]]:
    rows = [
        ("bl_number", ("B/L No.", "提單號碼", "提单号"),
         (f"{letters(rng, 4)}{digits(rng, 8)}",) * 3),
        ("shipper", ("Shipper", "託運人", "托运人"), company(rng, "g")[0]),
        ("consignee", ("Consignee", "收貨人", "收货人"), _consignee(rng)),
        ("vessel", ("Vessel", "船名", "船名"), _plain_vessel(rng)),
        ("port_of_loading", ("Port of loading", "裝貨港", "装货港"), port(rng, home=True)),
        ("port_of_discharge", ("Port of discharge", "卸貨港", "卸货港"), port(rng, foreign=True)),
        ("container_number", ("Container No.", "貨櫃號碼", "集装箱号"), (container_no(rng),) * 3),
        ("hs_code", ("HS code", "商品編碼", "商品编码"), (goods(rng)[0],) * 3),
        ("gross_weight", ("Gross weight", "毛重", "毛重"), _weight(rng)),
    ]  # fmt: skip
    title = pick(rng, [("Bill of lading", "提單", "提单"),
                       ("Ocean bill of lading", "海運提單", "海运提单")])  # fmt: skip
    return title, rows


def _declaration(rng: random.Random) -> tuple[Triple, list[tuple[str, Triple, Triple]]]:
    importing = rng.random() < 0.6
    hs, _tag, name = goods(rng)
    cur = currency(rng)
    value = amount(rng, cur, 2e3, 2e6)
    rows = [
        ("declaration_number", ("Declaration No.", "報關單編號", "报关单编号"),
         (_declaration_no(rng, importing),) * 3),
        ("trader", ("Trader", "進出口商", "收发货人"), company(rng, "g")[0]),
        ("port", ("Port", "口岸", "口岸"), port_with_code(rng, home=True)[0]),
        ("goods", ("Goods", "貨物", "货物"), name),
        ("hs_code", ("HS code", "商品編碼", "商品编码"), (hs,) * 3),
        ("currency", ("Currency", "幣別", "币制"), (cur[0],) * 3),
        ("declared_value", ("Declared value", "申報價值", "申报价值"),
         (amount_text(value, rng.random() < 0.5),) * 3),
        ("gross_weight", ("Gross weight", "毛重", "毛重"), _weight(rng)),
        ("declaration_date", ("Declaration date", "申報日期", "申报日期"), any_day(rng, day(rng))),
    ]  # fmt: skip
    title = (("Import declaration", "進口報關單", "进口报关单") if importing
             else ("Export declaration", "出口報關單", "出口报关单"))  # fmt: skip
    return title, rows


def extract(rng: random.Random) -> Extraction:
    """A bill of lading or customs declaration excerpt and 2-4 of its fields to extract."""
    title, rows = (_bill_of_lading if rng.random() < 0.6 else _declaration)(rng)
    shown, asked = shown_and_asked(rng, rows, always=1, ask_low=2, ask_high=4)
    return Extraction(lines(title, field_lines(shown)), asked)


LOGISTICS = DomainKit(labels=LABELS, explain=explain, extract=extract, message=_message,
                      contract_clause=bl_clause)  # fmt: skip
