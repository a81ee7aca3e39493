"""Logistics shift handover logs. They carry the broad topic vocabularies (glossary, port,
customs, warehouse terms) that do not fit a single transaction document."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, form, pick, table
from sovtrain_synth.lexicon.glossary import LOGISTICS_TOPICS
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import date, day
from sovtrain_synth.lexicon.places import facility
from sovtrain_synth.lexicon.terms_logistics import CUSTOMS_TERMS, PORT_TERMS, WAREHOUSE_TERMS

SHIFTS = table(
    """
morning|早
afternoon|中
night|夜
"""
)
HANDOVER_FORM = table(
    """
Site|地點|地点
Outgoing supervisor|交更主管|交班主管
Incoming supervisor|接更主管|接班主管
Staff on duty|當值人數|在岗人数
"""
)
STATUSES = table(
    """
no issues|正常
in progress|處理中|处理中
follow-up required|需跟進|需跟进
escalated to the operations manager|已上報營運經理|已上报运营经理
closed|已完成
pending a reply from the customer|待客戶回覆|待客户回复
"""
)
HANDOVER_NOTE = Say(
    [
        "Please prioritise {term} at the start of the shift.",
        "{who} will follow up on {term} with the customer before noon.",
        "{term} was delayed by {event}; see the exception log.",
        "No incidents were reported apart from {term}.",
    ],
    [
        "請於開更後優先處理{term}。",
        "{who}將於中午前就{term}與客戶跟進。",
        "{term}因{event}而延誤，詳見異常記錄。",
        "除{term}外，未有其他事故報告。",
    ],
    [
        "请在接班后优先处理{term}。",
        "{who}将于中午前就{term}与客户跟进。",
        "{term}因{event}而延误，详见异常记录。",
        "除{term}外，未报告其他事故。",
    ],
)
DELAYS = table(
    """
a system outage|系統故障|系统故障
heavy rain|大雨
a late vessel arrival|船舶延遲抵港|船舶延迟到港
missing paperwork|文件不全|单证不全
"""
)


def _handover(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    d = day(rng)
    site, shift = facility(rng), pick(rng, SHIFTS)
    when = date(d)
    title = (
        f"Shift handover log: {site[0]}, {shift[0]} shift, {when[0]}",
        f"交更記錄：{site[1]}（{when[1]}{shift[1]}更）",
        f"交接班记录：{site[2]}（{when[2]}{shift[2]}班）",
    )
    header = [site, person(rng), person(rng), (str(6 + int(r() * 60)),) * 3]
    topics = LOGISTICS_TOPICS + PORT_TERMS + CUSTOMS_TERMS + WAREHOUSE_TERMS
    chosen = rng.sample(topics, 3 + int(r() * 4))
    lines = []
    for t in chosen:
        s = pick(rng, STATUSES)
        lines.append((f"{t[0][0].upper()}{t[0][1:]}: {s[0]}", f"{t[1]}：{s[1]}", f"{t[2]}：{s[2]}"))
    f.put("term", chosen[0])
    f.put("who", person(rng))
    f.put("event", pick(rng, DELAYS))
    listed = bullets(lines, numbered=False)
    return [
        title,
        form(rng, list(zip(HANDOVER_FORM, header, strict=True))),
        ("Open items:\n" + listed[0], "待辦事項：\n" + listed[1], "待办事项：\n" + listed[2]),
        HANDOVER_NOTE.several(rng, f, 1 + int(r() * 2)),
    ]


KINDS = {"shift-handover": _handover}
