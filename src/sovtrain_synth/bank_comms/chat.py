"""hk-bank-comms: secure-message chat transcripts between a customer and a bank agent.

A transcript is several timed turns: the customer's opening, identity verification (where the
customer types a mobile number and HKID), the agent's answer, a follow-up and a close. Each
conversation follows one topic so the turns answer each other.
"""

from __future__ import annotations

import random

from sovtrain_synth.bank_comms.pii import when
from sovtrain_synth.bank_comms.talk import talk_slots
from sovtrain_synth.lexicon.common import Facts, Say, Triple, chance, pick
from sovtrain_synth.lexicon.numbers import date, later

# (customer opens, agent resolves, customer follows up), one triple of sentence types per topic
TOPICS: list[tuple[Say, Say, Say]] = [
    (
        Say(
            [
                "Hi, my card ending {card4} was declined at {merchant} just now. Can you check?",
                "Hello, why was my {scheme} card declined this afternoon? It ends in {card4}.",
            ],
            [
                "你好，本人尾號{card4}的信用卡剛才在{merchant}被拒絕交易，可否幫忙查看？",
                "你好，為何我的{scheme}信用卡今天下午被拒？卡號尾數是{card4}。",
            ],
        ),
        Say(
            [
                "The transaction was stopped by our fraud monitoring. I have lifted the block, so "
                "please try again.",
                "The card has reached its credit limit of {limit}. A payment of {pay} will restore "
                "the available credit.",
            ],
            [
                "系統顯示該交易被本行的防詐騙監察暫停，我已解除限制，請再試一次。",
                "該卡已達{limit}的信用額度，繳付{pay}後便可恢復可用額度。",
            ],
        ),
        Say(
            [
                "Thanks. Can you also send my statement to {email}?",
                "OK, I will pay now from account {acct}.",
            ],
            ["謝謝。可否同時將月結單電郵至：{email}？", "好的，我現在會從戶口{acct}付款。"],
        ),
    ),
    (
        Say(
            [
                "Hi, my salary has not arrived in account {acct} today. Is there a delay?",
                "Hello, a transfer of {pay} from a friend has not shown up in my account yet.",
            ],
            [
                "你好，今天我的薪金仍未存入戶口{acct}，是否有延誤？",
                "你好，朋友轉給我的{pay}仍未存入我的戶口。",
            ],
        ),
        Say(
            [
                "The incoming payment is being screened and should be credited by {due}.",
                "I cannot see any incoming payment yet. Please ask the payer for the transaction "
                "reference.",
            ],
            [
                "該筆入賬款項正在審核，預計於{due}前存入。",
                "暫時未見有任何入賬紀錄，請向付款人索取交易參考編號。",
            ],
        ),
        Say(
            ["The payer's reference is {ref2}.", "Please call me on {phone2} when it arrives."],
            ["付款人提供的參考編號為{ref2}。", "款項到賬後請致電{phone2}通知我。"],
        ),
    ),
    (
        Say(
            [
                "I think I lost my credit card. The number is {card}.",
                "Urgent: my wallet was stolen in {district}, with my {scheme} card ending {card4}.",
            ],
            [
                "我好像遺失了信用卡，卡號是{card}。",
                "緊急：我的銀包在{district}被偷，包括尾號{card4}的{scheme}信用卡。",
            ],
        ),
        Say(
            [
                "I have suspended the card; a replacement will be mailed to your address on file "
                "within {days} working days.",
                "The card is blocked and there were no transactions after it was reported. Please "
                "do not send a full card number in chat.",
            ],
            [
                "我已即時暫停該卡，補發的新卡將於{days}個工作天內寄往閣下登記的地址。",
                "該卡已被凍結，報失後並無任何交易。請勿在對話中提供完整卡號。",
            ],
        ),
        Say(
            [
                "Can the new card be sent to {address} instead?",
                "Thank you. Is there a replacement fee?",
            ],
            ["新卡可否改寄到{address}？", "謝謝。補發新卡需要收費嗎？"],
        ),
    ),
    (
        Say(
            [
                "I want to raise my FPS limit to {limit} to pay a deposit.",
                "Hello, my transfer of {pay} failed because of the daily limit.",
            ],
            [
                "我想將轉數快限額提高至{limit}，以支付訂金。",
                "你好，我轉賬{pay}失敗，原因是超出每日限額。",
            ],
        ),
        Say(
            [
                "You can change the limit in the app under Settings and confirm with the one-time "
                "password sent to {phone}.",
                "I have raised the limit to {limit} for today only, as requested.",
            ],
            [
                "閣下可在應用程式的「設定」中更改限額，再以發送至{phone}的一次性密碼確認。",
                "已按閣下要求將今日的限額提高至{limit}。",
            ],
        ),
        Say(
            ["The payee's account is {acct2}. Is that fine for FPS?", "Got it, thanks."],
            ["收款人戶口是{acct2}，用轉數快可以嗎？", "明白，謝謝。"],
        ),
    ),
]
HELLO = Say(
    [
        "Thank you for contacting {bank}. This is {agent}. For verification, please confirm your "
        "registered mobile number and HKID.",
        "Hello, {agent} here. Before we continue, please confirm your HKID number and "
        "mobile number.",
    ],
    [
        "感謝閣下聯絡{bank}，我是{agent}。為核實身份，請提供閣下登記的手提電話號碼及身份證號碼。",
        "你好，我是{agent}。在繼續之前，請提供閣下的身份證號碼及手提電話號碼。",
    ],
)
VERIFY = Say(
    [
        "My mobile is {phone} and my HKID is {hkid}.",
        "{phone}. HKID {hkid}.",
        "Mobile {phone}, ID card {hkid}.",
    ],
    [
        "我的手提電話是{phone}，身份證號碼是{hkid}。",
        "{phone}，身份證{hkid}。",
        "手提電話{phone}，身份證號碼{hkid}。",
    ],
)
VERIFIED = Say(
    ["Thank you, {name}, you are verified.", "Thanks, I can see your account now."],
    ["謝謝，{name}，身份已核實。", "謝謝，我已找到閣下的戶口。"],
)
ELSE = Say(
    ["Is there anything else I can help with?", "Anything else today?"],
    ["請問還有其他可以幫到閣下嗎？", "今天還有其他需要嗎？"],
)
NOTED = Say(
    ["Noted, I have added that to case {ref}.", "Sure, that has been arranged."],
    ["明白，我已將此記錄於個案{ref}。", "好的，已為閣下安排。"],
)
DONE = Say(
    ["No, that's all. Thanks!", "That's all, thank you."],
    ["沒有了，謝謝！", "就這樣，謝謝你。"],
)
BYE = Say(
    [
        "Thank you for banking with us. We will never ask for your PIN or one-time password.",
        "This conversation will be saved to your secure inbox. Have a good day.",
    ],
    [
        "感謝閣下使用本行服務。本行絕不會要求閣下提供密碼或一次性密碼。",
        "此對話將儲存於閣下的安全訊息收件匣。祝閣下有美好的一天。",
    ],
)


def _chat(rng: random.Random) -> list[Triple]:
    f = Facts()
    talk_slots(rng, f)
    opened = when(rng)
    f.put("due", date(later(opened, 1 + int(rng.random() * 3))))
    opens, fixes, more = pick(rng, TOPICS)
    script = [("c", opens), ("a", HELLO), ("c", VERIFY), ("a", VERIFIED), ("a", fixes), ("c", more)]
    if chance(rng, 0.6):
        script.append(("a", NOTED))
    script += [("a", ELSE), ("c", DONE)]
    if chance(rng, 0.7):
        script.append(("a", BYE))
    speakers = {
        "c": (f.en["name"], f.hant["name"], f.hans["name"]),
        "a": (
            f"{f.en['agent']} ({f.en['bank']})",
            f"{f.hant['agent']}（{f.hant['bank']}）",
            f"{f.hans['agent']}（{f.hans['bank']}）",
        ),
    }
    minute = (8 + int(rng.random() * 14)) * 60 + int(rng.random() * 60)
    lines: list[Triple] = []
    for who, say in script:
        text = say(rng, f)
        stamp = f"[{minute // 60:02d}:{minute % 60:02d}]"
        name = speakers[who]
        lines.append(
            (
                f"{stamp} {name[0]}: {text[0]}",
                f"{stamp} {name[1]}：{text[1]}",
                f"{stamp} {name[2]}：{text[2]}",
            )
        )
        minute += 1 + int(rng.random() * 3)
    title = (
        f"Secure message conversation {f.en['ref']}",
        f"安全訊息對話 {f.hant['ref']}",
        f"安全讯息对话 {f.hans['ref']}",
    )
    header = (
        f"Channel: secure messaging, {date(opened)[0]}",
        f"渠道：安全訊息，{date(opened)[1]}",
        f"渠道：安全讯息，{date(opened)[2]}",
    )
    return [title, header, *lines]


KINDS = {"secure-chat": _chat}
