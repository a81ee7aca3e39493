"""Finance committee minutes. They carry the broad topic vocabularies (glossary, regulatory,
banking terms) that do not fit a single transaction document."""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Facts, Say, Triple, bullets, form, join_list, pick, table
from sovtrain_synth.lexicon.companies import bank, company
from sovtrain_synth.lexicon.glossary import FINANCE_TOPICS
from sovtrain_synth.lexicon.names import ROLES, person
from sovtrain_synth.lexicon.numbers import clock, date, day, later
from sovtrain_synth.lexicon.terms_finance import BANKING, REGULATORY

COMMITTEES = table(
    """
Risk Committee|風險委員會
Audit Committee|審核委員會|审计委员会
Asset and Liability Committee|資產負債管理委員會
Credit Committee|信貸委員會
Remuneration Committee|薪酬委員會
Sustainability Committee|可持續發展委員會
Investment Committee|投資委員會
"""
)
FINDINGS = table(
    """
the position remained within appetite|有關情況仍在風險承受範圍內|相关情况仍在风险偏好范围内
two limit breaches had been remediated|兩宗超限個案已獲糾正|两起超限情况已整改
the trend had improved since the last meeting|情況自上次會議以來有所改善|情况自上次会议以来有所改善
further work was needed before the year end|年底前仍需進一步跟進|年底前仍需进一步跟进
the regulator had raised no new concerns|監管機構未有提出新關注|监管机构未提出新的关注事项
the figures were broadly in line with budget|有關數字大致符合預算|相关数据基本符合预算
"""
)
ACTIONS = table(
    """
a paper be brought to the next meeting|於下次會議提交文件|在下次会议上提交文件
the limit be reduced by 10%|將限額下調10%|将限额下调10%
an external review be commissioned|委託外部機構進行檢討|委托外部机构开展评估
the policy be approved as tabled|按所提交版本批准有關政策|按提交版本批准相关政策
management report progress monthly|管理層每月匯報進度|管理层每月汇报进展
"""
)
MINUTES_FORM = table(
    """
Date|日期
Time|時間|时间
Venue|地點|地点
Chair|主席|主持人
Present|出席|出席人员
Secretary|秘書|记录人
"""
)
ITEM = Say(
    [
        "The committee reviewed {term} and noted that {finding}.",
        "Management presented an update on {term}; {finding}.",
        "Members discussed {term}. It was agreed that {action}.",
        "The {role} reported on {term} and confirmed that {finding}.",
    ],
    [
        "委員會審閱了{term}，並注意到{finding}。",
        "管理層匯報{term}的最新情況：{finding}。",
        "委員討論了{term}，同意{action}。",
        "{role}匯報{term}，確認{finding}。",
    ],
    [
        "委员会审阅了{term}，并注意到{finding}。",
        "管理层汇报了{term}的最新情况：{finding}。",
        "委员讨论了{term}，同意{action}。",
        "{role}汇报了{term}，确认{finding}。",
    ],
)
CLOSE = Say(
    [
        "There being no other business, the meeting closed at {time}. The next meeting will be "
        "held on {next}.",
        "The meeting ended at {time}; the next meeting is scheduled for {next}.",
    ],
    ["會議於{time}結束，下次會議將於{next}舉行。", "會議於{time}結束；下次會議定於{next}舉行。"],
    ["会议于{time}结束，下次会议将于{next}召开。", "会议于{time}结束；下次会议定于{next}召开。"],
)
SENIOR = [r for r in ROLES if r[0].startswith(("chief", "head", "executive", "independent"))]


def _minutes(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    d = day(rng)
    committee = pick(rng, COMMITTEES)
    owner = bank(rng)[1] if r() < 0.5 else company(rng, "f")[1]
    title = (
        f"{owner[0]}: minutes of the {committee[0]} meeting",
        f"{owner[1]}{committee[1]}會議紀錄",
        f"{owner[2]}{committee[2]}会议纪要",
    )
    present = join_list([person(rng) for _ in range(2 + int(r() * 3))])
    floor = 10 + int(r() * 40)
    venue = pick(
        rng,
        [
            (f"Boardroom, {floor}/F", f"{floor}樓董事會會議室", f"{floor}楼董事会会议室"),
            ("Video conference", "視像會議", "视频会议"),
        ],
    )
    header = [date(d, "weekday"), clock(rng, 9 + int(r() * 8)), venue, person(rng), present]
    header.append(person(rng))
    topics = FINANCE_TOPICS + REGULATORY + BANKING
    items = []
    for topic in rng.sample(topics, 2 + int(r() * 4)):
        f.put("term", topic)
        f.put("finding", pick(rng, FINDINGS))
        f.put("action", pick(rng, ACTIONS))
        f.put("role", pick(rng, SENIOR))
        items.append(ITEM(rng, f))
    f.put("time", clock(rng, 11 + int(r() * 8)))
    f.put("next", date(later(d, 28 + int(r() * 70))))
    return [
        title,
        form(rng, list(zip(MINUTES_FORM, header, strict=True))),
        bullets(items),
        CLOSE(rng, f),
    ]


KINDS = {"committee-minutes": _minutes}
