"""hk-bank-comms: customer e-mails about account servicing, loan and mortgage enquiries, and
remittance questions, written the way customers write them (identifiers pasted into the body).

Customers routinely put their HKID, account number and mobile number in e-mails even when the
bank asks them not to; the corpus keeps that habit because it is what the masking stage has to
catch. Chinese renderings keep a space or full-width punctuation next to e-mail addresses, as
typed Hong Kong e-mail does.
"""

from __future__ import annotations

import random

from sovtrain_synth.bank_comms.pii import customer, when
from sovtrain_synth.lexicon.common import Facts, Say, Triple, chance, form, para, pick, some, table
from sovtrain_synth.lexicon.companies import bank, brand
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import BY_CODE, amount, any_date, date, later, money
from sovtrain_synth.lexicon.places import CITIES, COUNTRIES, address

GREET = Say(
    ["Dear Sir or Madam,", "Dear {bank} Customer Service,", "Hello,", "To whom it may concern,"],
    ["敬啟者：", "{bank}客戶服務部台鑒：", "你好，", "致有關人士："],
)
SIGN = Say(
    [
        "Yours faithfully,\n{name}\nMobile: {phone}",
        "Thank you.\n{name}",
        "Best regards,\n{name}\nE-mail: {email}",
        "Regards,\n{name}\nTel: {phone}",
    ],
    [
        "此致\n{bank}\n\n{name} 謹啟\n手提電話：{phone}",
        "謝謝。\n{name}",
        "{name} 敬上\n電郵：{email}",
        "{name}\n聯絡電話：{phone}",
    ],
)
HEADER = table(
    """
From|寄件人|发件人
To|收件人
Date|日期
Subject|主旨|主题
"""
)
PRODUCTS = table(
    """
savings|儲蓄
current|往來
integrated|綜合
multi-currency savings|多貨幣儲蓄
wealth management|理財
"""
)
TOPICS = table(
    """
updating my correspondence address|更新通訊地址
changing the mobile number for SMS one-time passwords|更改接收短訊一次性密碼的手提電話號碼
reactivating a dormant savings account|重新啟用不動戶口
receiving paper statements again|恢復收取紙本月結單
unlocking my internet banking login|解鎖網上銀行登入
closing a joint account|取消聯名戶口
replacing a damaged ATM card|補發損壞的提款卡
raising my daily transfer limit|提高每日轉賬限額
adding a new FPS payee|新增轉數快收款人
updating my tax residency self-certification|更新稅務居民身份自我證明
"""
)
REQUEST = Say(
    [
        "I am writing about {topic} on my {product} account.",
        "Could you please help me with {topic}?",
        "I would like your help with {topic}.",
        "Please let me know how to proceed with {topic}.",
    ],
    [
        "本人來函是關於{product}戶口的{topic}事宜。",
        "請問可否協助本人處理{topic}？",
        "本人希望貴行協助{topic}。",
        "請告知本人應如何辦理{topic}。",
    ],
)
IDENT = Say(
    [
        "My account number is {acct} and my HKID number is {hkid}.",
        "For verification, my HKID is {hkid}.",
        "The account concerned is {acct}, held in my sole name.",
        "My details: account {acct}, registered mobile {phone}.",
    ],
    [
        "本人的戶口號碼為{acct}，香港身份證號碼為{hkid}。",
        "為方便核實身份，本人的身份證號碼為{hkid}。",
        "有關戶口為{acct}，以本人名義單獨持有。",
        "本人資料：戶口號碼{acct}，登記手提電話{phone}。",
    ],
)
DETAIL = Say(
    [
        "My new address is {address}.",
        "I noticed the problem on {date} when I tried to log in from home.",
        "I have not used the account since {since} as I was working overseas.",
        "My new mobile number is {phone2}.",
        "I visited your {branch} on {date} but was told to write in instead.",
        "I can be reached at {phone} during office hours.",
    ],
    [
        "本人的新地址為{address}。",
        "本人於{date}在家中嘗試登入時發現此問題。",
        "由於本人在海外工作，自{since}起未有使用該戶口。",
        "本人的新手提電話號碼為{phone2}。",
        "本人已於{date}前往貴行{branch}，但職員表示須以書面提出。",
        "辦公時間內可致電{phone}與本人聯絡。",
    ],
)
ASK = Say(
    [
        "Please let me know which documents I need to provide.",
        "Could you confirm by e-mail once this has been done?",
        "Please do not send anything to my old address.",
        "I would appreciate a reply within {n} working days.",
        "Is there any fee for this?",
    ],
    [
        "請告知本人需要提交哪些文件。",
        "辦妥後可否以電郵通知本人？",
        "請勿再將任何文件寄往本人的舊地址。",
        "希望貴行於{n}個工作天內回覆。",
        "請問辦理此事是否需要收費？",
    ],
)
REPLY = Say(
    [
        "Thank you for your e-mail. Your request has been logged under reference {ref}.",
        "We refer to your e-mail dated {date}; our reference is {ref}.",
        "Thank you for contacting {bank}. We will process your request within {n} working days "
        "(reference {ref}).",
    ],
    [
        "感謝閣下的電郵。閣下的要求已登記，參考編號為{ref}。",
        "茲覆閣下於{date}的電郵，本行參考編號為{ref}。",
        "感謝閣下聯絡{bank}。本行將於{n}個工作天內處理閣下的要求（參考編號{ref}）。",
    ],
)
SECURITY = Say(
    [
        "For your security, please do not include your full card number or password in e-mails.",
        "Please note that the bank will never ask for your one-time password by e-mail or phone.",
        "If you did not make this request, please call our hotline immediately.",
    ],
    [
        "為保障閣下的安全，請勿在電郵中提供完整的信用卡號碼或密碼。",
        "請注意，本行絕不會透過電郵或電話要求閣下提供一次性密碼。",
        "如閣下並無提出此要求，請立即致電本行熱線。",
    ],
)


def _header(rng: random.Random, f: Facts, subject: Triple) -> Triple:
    sender = (
        f"{f.en['name']} <{f.en['email']}>",
        f"{f.hant['name']} <{f.en['email']}>",
        f"{f.hans['name']} <{f.en['email']}>",
    )
    return form(rng, list(zip(HEADER, [sender, f["bank_mail"], f["date"], subject], strict=True)))


def _base(rng: random.Random) -> Facts:
    f = Facts()
    customer(rng, f)
    sent = when(rng)
    f.put("date", any_date(rng, sent))
    f.put("since", date(later(sent, -400 - int(rng.random() * 900))))
    f.same("n", str(pick(rng, (3, 5, 7, 10, 14))))
    return f


def _account_email(rng: random.Random) -> list[Triple]:
    f = _base(rng)
    topic = f.put("topic", pick(rng, TOPICS))
    f.put("product", pick(rng, PRODUCTS))
    title = (f"Customer e-mail: {topic[0]}", f"客戶電郵：{topic[1]}", f"客户电邮：{topic[2]}")
    subject = (topic[0][0].upper() + topic[0][1:], topic[1], topic[2])
    blocks = [title, _header(rng, f, subject), GREET(rng, f)]
    blocks.append(para(rng, f, [REQUEST, IDENT, *some(rng, [DETAIL, ASK], 1, 2)]))
    blocks.append(SIGN(rng, f))
    if chance(rng, 0.4):  # the bank's acknowledgement, quoted above the customer's e-mail
        reply = para(rng, f, [REPLY, SECURITY])
        blocks.append(
            ("--- Reply ---\n" + reply[0], "--- 回覆 ---\n" + reply[1], "--- 回复 ---\n" + reply[2])
        )
    return blocks


MORTGAGE = Say(
    [
        "I am planning to buy a flat at {property} for {price} and would like to apply for a "
        "mortgage of {loan} over {years} years.",
        "My spouse and I have signed a provisional agreement for a flat at {property} ({price}) "
        "and need a mortgage of about {loan}.",
    ],
    [
        "本人計劃以{price}購買位於{property}的單位，希望申請{loan}、為期{years}年的按揭貸款。",
        "本人與配偶已就{property}的單位簽訂臨時買賣合約（樓價{price}），需要約{loan}的按揭貸款。",
    ],
)
REFINANCE = Say(
    [
        "I would like to transfer my existing mortgage of {loan} from {other} to your bank.",
        "My fixed-rate period with {other} ends soon and I am considering refinancing {loan} "
        "with you.",
    ],
    [
        "本人希望將現時於{other}的{loan}按揭貸款轉按至貴行。",
        "本人於{other}的定息期即將屆滿，正考慮將{loan}的按揭轉至貴行。",
    ],
)
PERSONAL = Say(
    [
        "I would like to apply for a tax loan of {loan} repayable over {months} months.",
        "I am interested in a personal instalment loan of {loan} for {months} months to cover "
        "renovation costs.",
    ],
    [
        "本人希望申請{loan}的稅務貸款，分{months}個月還款。",
        "本人有意申請{loan}、為期{months}個月的私人分期貸款，用作裝修費用。",
    ],
)
LOAN_KINDS = [
    (MORTGAGE, ("Mortgage enquiry", "按揭查詢", "按揭查询")),
    (REFINANCE, ("Mortgage refinancing enquiry", "轉按查詢", "转按查询")),
    (PERSONAL, ("Personal loan enquiry", "私人貸款查詢", "个人贷款查询")),
]
LOAN_QUESTIONS = Say(
    [
        "What is the current rate on your HIBOR-based plan, and is it capped at the prime rate "
        "less a margin?",
        "Would I qualify for the Mortgage Insurance Programme at a {ltv}% loan-to-value ratio?",
        "Is there a cash rebate, and must it be repaid if I redeem within {n} years?",
        "My monthly income is about {income}; could you estimate the monthly instalment?",
        "How long do the valuation and approval usually take?",
        "What is the annualised percentage rate for a {months}-month term?",
    ],
    [
        "請問貴行以香港銀行同業拆息計算的按揭計劃現時息率是多少？"
        "是否設有以最優惠利率減息計算的封頂息率？",
        "以{ltv}%按揭成數計算，本人是否符合按揭保險計劃的資格？",
        "請問有否現金回贈？如於{n}年內提早贖回是否須退還？",
        "本人每月收入約{income}，可否估算每月供款金額？",
        "估價及審批一般需時多久？",
        "{months}個月還款期的實際年利率是多少？",
    ],
)
CONTACT = Say(
    [
        "Please call me on {phone} or reply to {email}.",
        "I am an existing customer (account {acct}); my mobile is {phone}.",
        "You may reach me at {email} or on {phone} after 6 pm.",
        "My HKID is {hkid} if you need it for a pre-approval check.",
    ],
    [
        "請致電{phone}或回覆電郵（{email}）與本人聯絡。",
        "本人為貴行現有客戶（戶口號碼{acct}），手提電話為{phone}。",
        "閣下可電郵至 {email} 或於晚上6時後致電{phone}與本人聯絡。",
        "如需進行預先批核，本人的身份證號碼為{hkid}。",
    ],
)


def _loan_enquiry(rng: random.Random) -> list[Triple]:
    f = _base(rng)
    hkd = BY_CODE["HKD"]
    price = amount(rng, hkd, 4e5, 3e6)
    f.put("price", money(rng, hkd, price))
    f.put("loan", money(rng, hkd, price * pick(rng, (5, 6, 7, 8, 9)) // 10))
    f.same("years", str(pick(rng, (15, 20, 25, 30))))
    f.same("months", str(pick(rng, (12, 24, 36, 48, 60))))
    f.same("ltv", str(pick(rng, (70, 80, 90))))
    f.put("income", money(rng, hkd, amount(rng, hkd, 3e3, 2.5e4)))
    f.put("property", address(rng, brand(rng), mainland=False))
    f.put("other", bank(rng)[1])
    intent, title = pick(rng, LOAN_KINDS)
    subject = (title[0], title[1], title[2])
    blocks = [title, _header(rng, f, subject), GREET(rng, f), para(rng, f, [intent])]
    blocks.append(LOAN_QUESTIONS.several(rng, f, 2 + int(rng.random() * 3)))
    blocks.append(para(rng, f, [CONTACT]))
    blocks.append(SIGN(rng, f))
    return blocks


RELATIVES = table(
    """
son|兒子|儿子
daughter|女兒|女儿
mother|母親|母亲
brother|弟弟
tenant|租客
supplier|供應商|供应商
"""
)
REMIT_ISSUE = Say(
    [
        "On {day} I sent {amount} by telegraphic transfer from account {acct} to {payee} at "
        "{payee_bank} in {country}, but the funds have not arrived.",
        "An incoming remittance of {amount} from {payee} was credited to account {acct} short by "
        "{fee}; please explain the charges.",
        "I transferred {amount} by FPS to the wrong mobile number ({phone2}) on {day}. Can the "
        "bank recall it?",
        "I would like to send {amount} to my {relative} in {city} every month; what are your "
        "charges and cut-off times?",
    ],
    [
        "本人於{day}從戶口{acct}以電匯方式匯出{amount}至{country}{payee_bank}的{payee}，"
        "但對方至今仍未收到款項。",
        "一筆由{payee}匯入的{amount}已存入戶口{acct}，但金額少了{fee}，請解釋有關收費。",
        "本人於{day}經轉數快將{amount}誤轉至錯誤的手提電話號碼（{phone2}），請問貴行可否追回款項？",
        "本人希望每月匯款{amount}給身在{city}的{relative}，請問收費及截數時間為何？",
    ],
)
REMIT_ASK = Say(
    [
        "Please trace the payment and let me know its status.",
        "Could you send me the SWIFT confirmation (MT103) for this transfer?",
        "The beneficiary's bank says it has no record of the payment.",
        "Please tell me whether any intermediary bank deducted charges.",
        "I need the money to arrive before {deadline}.",
    ],
    [
        "請追查該筆款項並告知本人最新狀況。",
        "可否提供此筆匯款的SWIFT確認書（MT103）？",
        "收款銀行表示並無該筆款項的紀錄。",
        "請告知是否有中介銀行扣除費用。",
        "本人需要款項於{deadline}前到達。",
    ],
)
REMIT_FORM = table(
    """
Beneficiary|收款人
Beneficiary bank|收款銀行|收款银行
Country|國家/地區|国家/地区
Amount|金額|金额
Value date|起息日
Debit account|扣賬戶口|扣款账户
"""
)


def _remittance(rng: random.Random) -> list[Triple]:
    f = _base(rng)
    cur = BY_CODE[pick(rng, ("HKD", "USD", "CNY", "GBP", "AUD", "CAD", "SGD", "PHP"))]
    value = amount(rng, cur, 150, 6e4)
    f.put("amount", money(rng, cur, value))
    f.put("fee", money(rng, BY_CODE["HKD"], pick(rng, (50, 80, 100, 120, 150, 200))))
    payee = f.put("payee", person(rng))
    payee_bank = f.put("payee_bank", bank(rng)[0])
    country = f.put("country", pick(rng, COUNTRIES))
    sent = when(rng)
    f.put("day", date(sent))
    f.put("deadline", date(later(sent, 5 + int(rng.random() * 20))))
    f.put("relative", pick(rng, RELATIVES))
    f.put("city", pick(rng, CITIES))
    title = ("Remittance enquiry", "匯款查詢", "汇款查询")
    blocks = [title, _header(rng, f, title), GREET(rng, f)]
    blocks.append(para(rng, f, [REMIT_ISSUE, *some(rng, [REMIT_ASK], 0, 1), CONTACT]))
    if chance(rng, 0.5):
        values = [
            payee,
            payee_bank,
            country,
            money(rng, cur, value, formal=True),
            date(sent),
            f["acct"],
        ]
        blocks.append(form(rng, list(zip(REMIT_FORM, values, strict=True))))
    blocks.append(SIGN(rng, f))
    return blocks


KINDS = {
    "account-email": _account_email,
    "loan-enquiry": _loan_enquiry,
    "remittance-query": _remittance,
}
