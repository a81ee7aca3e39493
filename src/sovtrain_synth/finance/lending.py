"""Finance documents: bond issue announcements and credit memoranda."""

from __future__ import annotations

import random

from sovtrain_synth.finance.banking import BENCHMARK_FOR, BENCHMARKS
from sovtrain_synth.lexicon.common import (
    Facts,
    Say,
    Triple,
    bullets,
    chance,
    form,
    join_list,
    para,
    pick,
    table,
)
from sovtrain_synth.lexicon.companies import bank, company
from sovtrain_synth.lexicon.names import ROLES, person
from sovtrain_synth.lexicon.numbers import (
    BY_CODE,
    amount,
    any_date,
    currency,
    date,
    day,
    later,
    money,
)
from sovtrain_synth.lexicon.places import HK_DISTRICTS
from sovtrain_synth.lexicon.terms_finance import INSTRUMENTS, RATINGS

BOND_TYPES = table(
    """
senior unsecured notes|高級無抵押票據|高级无抵押票据
green bonds|綠色債券|绿色债券
sustainability-linked bonds|可持續發展掛鈎債券|可持续发展挂钩债券
offshore renminbi bonds|點心債|点心债
medium-term notes|中期票據|中期票据
convertible bonds|可換股債券|可转换债券
social bonds|社會責任債券|社会责任债券
"""
)
USES = table(
    """
refinancing existing debt|償還現有債務|偿还现有债务
eligible green projects|合資格綠色項目|合格绿色项目
general corporate purposes|一般企業用途|一般公司用途
the expansion of its logistics network|擴展其物流網絡|扩展其物流网络
capital expenditure on new vessels|購置新船的資本開支|购置新船的资本支出
working capital|營運資金|营运资金
"""
)
BOND_TITLE = Say(
    [
        "{issuer} prices {amount} {tenor}-year {btype}",
        "New issue: {issuer} {tenor}-year {btype}",
        "{issuer} sells {amount} of {tenor}-year {btype}",
    ],
    [
        "{issuer}定價發行{amount}{tenor}年期{btype}",
        "新發行：{issuer}{tenor}年期{btype}",
        "{issuer}發行{amount}{tenor}年期{btype}",
    ],
    [
        "{issuer}定价发行{amount}{tenor}年期{btype}",
        "新发行：{issuer}{tenor}年期{btype}",
        "{issuer}发行{amount}{tenor}年期{btype}",
    ],
)
PRICING = Say(
    [
        "The notes were priced at {spread} basis points over Treasuries, with a coupon of "
        "{coupon}%.",
        "Final pricing was set at {coupon}%, {tight} basis points inside initial guidance.",
        "The {tenor}-year tranche carries a coupon of {coupon}% and matures on {maturity}.",
    ],
    [
        "債券定價為美國國債息率加{spread}個基點，票面息率{coupon}%。",
        "最終定價為{coupon}%，較初步指引收窄{tight}個基點。",
        "該{tenor}年期債券票面息率為{coupon}%，於{maturity}到期。",
    ],
    [
        "债券定价为美国国债收益率加{spread}个基点，票面利率{coupon}%。",
        "最终定价为{coupon}%，较初始指导价收窄{tight}个基点。",
        "该{tenor}年期债券票面利率为{coupon}%，于{maturity}到期。",
    ],
)
BOOK = Say(
    [
        "The order book peaked at {book}, {cover} times covered.",
        "Final orders exceeded {book} from more than {accounts} accounts.",
        "Asian investors took {asia}% of the allocation, with the rest going to Europe and "
        "offshore US accounts.",
    ],
    [
        "認購訂單峰值達{book}，超額認購{cover}倍。",
        "最終訂單超過{book}，來自逾{accounts}個賬戶。",
        "亞洲投資者獲分配{asia}%，其餘分配予歐洲及美國離岸投資者。",
    ],
    [
        "认购订单峰值达{book}，认购倍数{cover}倍。",
        "最终订单超过{book}，来自逾{accounts}个账户。",
        "亚洲投资者获配{asia}%，其余分配给欧洲及美国离岸投资者。",
    ],
)
TERMS = Say(
    [
        "The issue is expected to be rated {rating} and will be listed in Hong Kong.",
        "Proceeds will be used for {use}.",
        "{banks} acted as joint global coordinators.",
    ],
    [
        "是次發行預期獲評{rating}級，並將於香港上市。",
        "所得款項將用於{use}。",
        "{banks}擔任聯席全球協調人。",
    ],
    [
        "本次发行预期获评{rating}级，并将在香港上市。",
        "募集资金将用于{use}。",
        "{banks}担任联席全球协调人。",
    ],
)
BOND_FORM = table(
    """
Issuer|發行人|发行人
Format|發行形式|发行形式
Amount|發行金額|发行金额
Coupon|票面息率|票面利率
Settlement date|交收日期|交割日期
Maturity date|到期日
Expected rating|預期評級|预期评级
"""
)


def _bond(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    issuer = f.put("issuer", company(rng)[0])
    cur = BY_CODE[pick(rng, ("USD", "USD", "USD", "CNY", "HKD", "EUR", "SGD"))]
    size = f.put("amount", money(rng, cur, amount(rng, cur, 1e8, 2e9)))
    tenor = pick(rng, (2, 3, 3, 5, 5, 7, 10))
    f.same("tenor", str(tenor))
    f.put("btype", pick(rng, BOND_TYPES))
    f.same("spread", str(60 + int(r() * 300)))
    f.same("coupon", f"{1.5 + r() * 6:.3f}")
    f.same("tight", str(10 + int(r() * 40)))
    settle = day(rng, 2020, 2027)
    f.put("maturity", date(later(settle, 365 * tenor)))
    f.put("book", money(rng, cur, amount(rng, cur, 3e8, 1.5e10)))
    f.same("cover", f"{1.5 + r() * 6:.1f}")
    f.same("accounts", str(40 + int(r() * 200)))
    f.same("asia", str(55 + int(r() * 40)))
    rating = f.same("rating", pick(rng, RATINGS))
    f.put("use", pick(rng, USES))
    f.put("banks", join_list([bank(rng)[1] for _ in range(2 + int(r() * 3))]))
    blocks = [BOND_TITLE(rng, f), para(rng, f, [PRICING, BOOK])]
    blocks.append(TERMS.several(rng, f, 2 + int(r() * 2)))
    if chance(rng, 0.6):
        values = [
            issuer,
            ("Regulation S, senior unsecured", "S規例，高級無抵押", "S条例，高级无抵押"),
            size,
            (f"{f.en['coupon']}% per annum", f"年息{f.en['coupon']}%", f"年利率{f.en['coupon']}%"),
            date(settle),
            date(later(settle, 365 * tenor)),
            (rating,) * 3,
        ]
        blocks.append(form(rng, list(zip(BOND_FORM, values, strict=True))))
    return blocks


CREDIT_FORM = table(
    """
Borrower|借款人
Facility|融資類別|授信品种
Limit|額度|额度
Tenor|年期|期限
Pricing|定價|定价
Security|抵押品|担保方式
Internal risk grade|內部風險評級|内部风险评级
Relationship manager|客戶經理|客户经理
"""
)
GRADES = table(
    """
3 (strong)|3（強）|3（强）
4 (satisfactory)|4（滿意）|4（满意）
5 (acceptable)|5（可接受）|5（可接受）
6 (watch)|6（關注）|6（关注）
"""
)
ANALYSIS = Say(
    [
        "{borrower} reported revenue of {revenue} and an EBITDA margin of {ebitda}% in its latest "
        "financial year.",
        "Leverage is moderate, with net debt at {lev} times EBITDA.",
        "The borrower has banked with us since {since} and has a satisfactory repayment record.",
    ],
    [
        "{borrower}最近一個財政年度收益為{revenue}，EBITDA利潤率為{ebitda}%。",
        "槓桿水平適中，淨負債為EBITDA的{lev}倍。",
        "借款人自{since}年起與本行往來，還款紀錄良好。",
    ],
    [
        "{borrower}最近一个财年营业收入为{revenue}，EBITDA利润率为{ebitda}%。",
        "杠杆水平适中，净负债为EBITDA的{lev}倍。",
        "借款人自{since}年起与我行合作，还款记录良好。",
    ],
)
RECOMMEND = Say(
    [
        "We recommend approval of the facility, subject to the conditions above.",
        "The credit committee approved the facility on {date}.",
        "Approval is recommended given strong collateral cover at a loan-to-value ratio of {ltv}%.",
    ],
    [
        "本部建議在符合上述條件下批准該融資。",
        "信貸委員會已於{date}批准該融資。",
        "鑑於抵押品充足（貸款價值比{ltv}%），建議批准。",
    ],
    [
        "建议在满足上述条件的前提下批准该授信。",
        "信贷委员会已于{date}批准该授信。",
        "鉴于担保充足（贷款价值比{ltv}%），建议批准。",
    ],
)
LOANS = [i for i in INSTRUMENTS if i[0].endswith(("loans", "facilities", "financing"))]


def _covenants(rng: random.Random, cur: list[str]) -> list[Triple]:
    r = rng.random
    x, y, z = 40 + int(r() * 60), f"{2 + r() * 4:.1f}", f"{1 + r():.1f}"
    amt = money(rng, cur, amount(rng, cur, 5e6, 6e8))
    options = [
        (
            f"Gearing ratio not to exceed {x}%",
            f"資本負債比率不得超過{x}%",
            f"资产负债率不得超过{x}%",
        ),
        (
            f"Interest coverage of at least {y} times",
            f"利息保障倍數不少於{y}倍",
            f"利息保障倍数不低于{y}倍",
        ),
        (
            f"Tangible net worth of not less than {amt[0]}",
            f"有形資產淨值不少於{amt[1]}",
            f"有形净资产不低于{amt[2]}",
        ),
        (f"Current ratio of at least {z} times", f"流動比率不少於{z}倍", f"流动比率不低于{z}倍"),
        (
            "No change of control without the Bank's consent",
            "未經本行同意不得變更控制權",
            "未经我行同意不得变更控制权",
        ),
        (
            "Audited accounts within 180 days of the financial year end",
            "須於財政年度結束後180天內提交經審核賬目",
            "须于财年结束后180天内提交经审计财务报表",
        ),
    ]
    return rng.sample(options, 2 + int(r() * 3))


def _security(rng: random.Random, cur: list[str]) -> Triple:
    r = rng.random()
    if r < 0.3:
        d = pick(rng, HK_DISTRICTS)
        return (
            f"First legal charge over an industrial property in {d[0]}",
            f"以{d[1]}一項工業物業作第一法定押記",
            f"以{d[2]}一处工业物业作第一顺位抵押",
        )
    if r < 0.5:
        amt = money(rng, cur, amount(rng, cur, 1e5, 1.5e7))
        return (
            f"Pledge of a time deposit of {amt[0]}",
            f"質押定期存款{amt[1]}",
            f"质押定期存款{amt[2]}",
        )
    return pick(
        rng,
        [
            (
                "Corporate guarantee from the parent company",
                "母公司提供公司擔保",
                "母公司提供公司担保",
            ),
            ("Assignment of trade receivables", "應收貿易賬款轉讓", "应收账款转让"),
            (
                "Unsecured, with a negative pledge",
                "無抵押，附消極保證條款",
                "无担保，附消极担保条款",
            ),
        ],
    )


def _credit_memo(rng: random.Random) -> list[Triple]:
    f, r = Facts(), rng.random
    borrower = f.put("borrower", company(rng)[0])
    cur = currency(rng)
    facility = pick(rng, LOANS)
    months = pick(rng, (12, 24, 36, 60, 84))
    margin = 90 + int(r() * 260)
    rm = person(rng)
    bm = BENCHMARKS[BENCHMARK_FOR.get(cur[0], 1)]
    values = [
        borrower,
        facility,
        money(rng, cur, amount(rng, cur, 1e6, 4e8), formal=True),
        (f"{months} months", f"{months}個月", f"{months}个月"),
        (
            f"{bm[0]} + {margin} bps",
            f"{bm[1]}加{margin}個基點",
            f"{bm[2]}加{margin}个基点",
        ),
        _security(rng, cur),
        pick(rng, GRADES),
        rm,
    ]
    f.put("revenue", money(rng, cur, amount(rng, cur, 1e7, 8e9)))
    f.same("ebitda", f"{5 + r() * 30:.1f}")
    f.same("lev", f"{0.5 + r() * 4:.1f}")
    f.same("since", str(1995 + int(r() * 28)))
    f.put("date", any_date(rng, day(rng)))
    f.same("ltv", str(30 + int(r() * 40)))
    title = pick(
        rng,
        [
            (
                f"Credit memorandum: {borrower[0]}",
                f"信貸審批備忘錄：{borrower[1]}",
                f"授信审批报告：{borrower[2]}",
            ),
            (
                f"Credit application - {facility[0]} for {borrower[0]}",
                f"信貸申請－{borrower[1]}{facility[1]}",
                f"授信申请－{borrower[2]}{facility[2]}",
            ),
        ],
    )
    cov = bullets(_covenants(rng, cur))
    role = pick(rng, [x for x in ROLES if x[0] in ("credit officer", "credit analyst")])
    return [
        title,
        form(rng, list(zip(CREDIT_FORM, values, strict=True))),
        ANALYSIS.several(rng, f, 2 + int(r() * 2)),
        ("Key covenants:\n" + cov[0], "主要契諾：\n" + cov[1], "主要承诺条款：\n" + cov[2]),
        RECOMMEND(rng, f),
        _signoff(rng, role),
    ]


def _signoff(rng: random.Random, role: Triple) -> Triple:
    who = person(rng)
    return (
        f"Prepared by: {who[0]}, {role[0]}",
        f"撰寫：{role[1]}{who[1]}",
        f"撰写：{role[2]}{who[2]}",
    )


KINDS = {"bond-issuance": _bond, "credit-memo": _credit_memo}
