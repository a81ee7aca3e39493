"""People: compositional Chinese names with Hong Kong (Cantonese) or mainland (Pinyin) English
forms, HK English first names, foreign names with regional transliterations, and job titles.

All names are fictional combinations; the tables are hand-written.
"""

from __future__ import annotations

import random

from sovtrain_synth.lexicon.common import Triple, pick, rows, table
from sovtrain_synth.lexicon.foreign_names import (
    EAST_ASIAN,
    FOREIGN_GIVEN,
    FOREIGN_SURNAMES,
    HK_ENGLISH_NAMES,
)

# 繁體 | 简体 | Hong Kong romanisation | Pinyin
SURNAMES = rows(
    """
陳|陈|Chan|Chen
李|李|Lee|Li
張|张|Cheung|Zhang
黃|黄|Wong|Huang
王|王|Wong|Wang
林|林|Lam|Lin
劉|刘|Lau|Liu
吳|吴|Ng|Wu
梁|梁|Leung|Liang
何|何|Ho|He
郭|郭|Kwok|Guo
鄭|郑|Cheng|Zheng
周|周|Chow|Zhou
謝|谢|Tse|Xie
馮|冯|Fung|Feng
麥|麦|Mak|Mai
曾|曾|Tsang|Zeng
蔡|蔡|Choi|Cai
袁|袁|Yuen|Yuan
羅|罗|Law|Luo
鄧|邓|Tang|Deng
許|许|Hui|Xu
徐|徐|Tsui|Xu
蘇|苏|So|Su
葉|叶|Yip|Ye
潘|潘|Poon|Pan
盧|卢|Lo|Lu
楊|杨|Yeung|Yang
趙|赵|Chiu|Zhao
孫|孙|Suen|Sun
朱|朱|Chu|Zhu
胡|胡|Wu|Hu
高|高|Ko|Gao
馬|马|Ma|Ma
余|余|Yu|Yu
黎|黎|Lai|Li
杜|杜|To|Du
姚|姚|Yiu|Yao
文|文|Man|Wen
關|关|Kwan|Guan
莫|莫|Mok|Mo
唐|唐|Tong|Tang
方|方|Fong|Fang
石|石|Shek|Shi
崔|崔|Tsui|Cui
程|程|Ching|Cheng
伍|伍|Ng|Wu
范|范|Fan|Fan
江|江|Kong|Jiang
譚|谭|Tam|Tan
岑|岑|Shum|Cen
凌|凌|Ling|Ling
廖|廖|Liu|Liao
雷|雷|Lui|Lei
韋|韦|Wai|Wei
湯|汤|Tong|Tang
歐陽|欧阳|Au-Yeung|Ouyang
司徒|司徒|Szeto|Situ
蕭|萧|Siu|Xiao
容|容|Yung|Rong
陸|陆|Luk|Lu
戴|戴|Tai|Dai
邱|邱|Yau|Qiu
嚴|严|Yim|Yan
鍾|钟|Chung|Zhong
溫|温|Wan|Wen
彭|彭|Pang|Peng
賴|赖|Lai|Lai
田|田|Tin|Tian
傅|傅|Fu|Fu
區|区|Au|Ou
霍|霍|Fok|Huo
翁|翁|Yung|Weng
邵|邵|Shiu|Shao
侯|侯|Hau|Hou
龐|庞|Pong|Pang
古|古|Ku|Gu
施|施|Sze|Shi
柯|柯|Or|Ke
洪|洪|Hung|Hong
甘|甘|Kam|Gan
金|金|Kam|Jin
顧|顾|Ku|Gu
阮|阮|Yuen|Ruan
卓|卓|Cheuk|Zhuo
龔|龚|Kung|Gong
秦|秦|Chun|Qin
魏|魏|Ngai|Wei
蔣|蒋|Cheung|Jiang
沈|沈|Shum|Shen
宋|宋|Sung|Song
董|董|Tung|Dong
丁|丁|Ting|Ding
任|任|Yam|Ren
薛|薛|Sit|Xue
鄒|邹|Chau|Zou
熊|熊|Hung|Xiong
白|白|Pak|Bai
尹|尹|Wan|Yin
聶|聂|Nip|Nie
湛|湛|Cham|Zhan
簡|简|Kan|Jian
倪|倪|Ngai|Ni
上官|上官|Sheung-kwun|Shangguan
""",
    4,
)

# Characters for two- or one-character given names: 繁體 | 简体 | HK | Pinyin
GIVEN = rows(
    """
大|大|Tai|Da
文|文|Man|Wen
明|明|Ming|Ming
偉|伟|Wai|Wei
志|志|Chi|Zhi
強|强|Keung|Qiang
家|家|Ka|Jia
俊|俊|Chun|Jun
嘉|嘉|Ka|Jia
詠|咏|Wing|Yong
美|美|Mei|Mei
玲|玲|Ling|Ling
慧|慧|Wai|Hui
敏|敏|Man|Min
芳|芳|Fong|Fang
婷|婷|Ting|Ting
欣|欣|Yan|Xin
思|思|Sze|Si
穎|颖|Wing|Ying
雅|雅|Nga|Ya
麗|丽|Lai|Li
華|华|Wah|Hua
國|国|Kwok|Guo
建|建|Kin|Jian
榮|荣|Wing|Rong
輝|辉|Fai|Hui
傑|杰|Kit|Jie
浩|浩|Ho|Hao
天|天|Tin|Tian
子|子|Tsz|Zi
樂|乐|Lok|Le
心|心|Sum|Xin
晴|晴|Ching|Qing
雪|雪|Suet|Xue
卓|卓|Cheuk|Zhuo
宇|宇|Yu|Yu
軒|轩|Hin|Xuan
朗|朗|Long|Lang
峰|峰|Fung|Feng
智|智|Chi|Zhi
德|德|Tak|De
健|健|Kin|Jian
凱|凯|Hoi|Kai
銘|铭|Ming|Ming
立|立|Lap|Li
新|新|San|Xin
翠|翠|Chui|Cui
瑩|莹|Ying|Ying
寶|宝|Po|Bao
秀|秀|Sau|Xiu
月|月|Yuet|Yue
蘭|兰|Lan|Lan
佩|佩|Pui|Pei
珊|珊|Shan|Shan
少|少|Siu|Shao
永|永|Wing|Yong
耀|耀|Yiu|Yao
錦|锦|Kam|Jin
振|振|Chun|Zhen
漢|汉|Hon|Han
光|光|Kwong|Guang
達|达|Tat|Da
泰|泰|Tai|Tai
啟|启|Kai|Qi
正|正|Ching|Zheng
海|海|Hoi|Hai
澤|泽|Chak|Ze
恩|恩|Yan|En
琳|琳|Lam|Lin
希|希|Hei|Xi
梓|梓|Tsz|Zi
霖|霖|Lam|Lin
忠|忠|Chung|Zhong
信|信|Shun|Xin
安|安|On|An
宏|宏|Wang|Hong
雄|雄|Hung|Xiong
秋|秋|Chau|Qiu
春|春|Chun|Chun
雯|雯|Man|Wen
淑|淑|Suk|Shu
靜|静|Ching|Jing
碧|碧|Pik|Bi
鳳|凤|Fung|Feng
燕|燕|Yin|Yan
鴻|鸿|Hung|Hong
詩|诗|Sze|Shi
曉|晓|Hiu|Xiao
銳|锐|Yui|Rui
倩|倩|Sin|Qian
鈞|钧|Kwan|Jun
琪|琪|Kei|Qi
駿|骏|Chun|Jun
曼|曼|Man|Man
晉|晋|Chun|Jin
""",
    4,
)


ROLES = table(
    """
chairman|主席|董事长
chief executive officer|行政總裁|首席执行官
chief financial officer|財務總監|首席财务官
chief operating officer|營運總監|首席运营官
chief risk officer|風險總監|首席风险官
chief investment officer|投資總監|首席投资官
chief economist|首席經濟師|首席经济学家
executive director|執行董事|执行董事
independent non-executive director|獨立非執行董事|独立非执行董事
company secretary|公司秘書|董事会秘书
head of research|研究部主管|研究部负责人
head of treasury|庫務主管|资金部负责人
head of trade finance|貿易融資主管|贸易融资部负责人
senior analyst|高級分析師|高级分析师
credit analyst|信貸分析師|信贷分析师
equity strategist|股票策略師|股票策略师
portfolio manager|投資組合經理|基金经理
fund manager|基金經理|基金经理
relationship manager|客戶經理|客户经理
compliance officer|合規主任|合规专员
money laundering reporting officer|洗錢報告主任|反洗钱报告负责人
head of compliance|合規部主管|合规部负责人
internal auditor|內部審計師|内部审计师
credit officer|信貸主任|信贷专员
treasurer|司庫|财务主管
FX trader|外匯交易員|外汇交易员
economist|經濟師|经济学家
terminal manager|碼頭經理|码头经理
port captain|港口船長|港口船长
master of the vessel|船長|船长
chief officer|大副|大副
duty manager|當值經理|值班经理
warehouse supervisor|倉務主管|仓库主管
warehouse manager|倉庫經理|仓库经理
logistics coordinator|物流協調員|物流协调员
customs broker|報關員|报关员
freight forwarding manager|貨運代理經理|货运代理经理
shipping clerk|船務文員|单证员
truck driver|貨車司機|货车司机
dispatcher|調度員|调度员
quality inspector|品質檢驗員|质量检验员
marine surveyor|海事檢驗師|海事检验师
claims handler|理賠專員|理赔专员
operations manager|營運經理|运营经理
IT manager|資訊科技經理|信息技术经理
data analyst|數據分析員|数据分析师
maintenance engineer|維修工程師|维修工程师
safety officer|安全主任|安全员
yard planner|堆場策劃員|堆场计划员
vessel planner|船舶配載員|船舶配载员
cold-chain specialist|冷鏈專員|冷链专员
procurement manager|採購經理|采购经理
sales director|銷售總監|销售总监
"""
)


def _pinyin(parts: list[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        out += ("'" + p.lower()) if p[0] in "AEO" else p.lower()
    return out


def person(rng: random.Random) -> Triple:
    """A fictional person: HK-style (60%), mainland (28%), foreign (9%) or Japanese/Korean."""
    r = rng.random()
    if r < 0.88:
        sur = pick(rng, SURNAMES)
        first = pick(rng, GIVEN)
        second = pick(rng, GIVEN) if rng.random() < 0.85 else None
        given_t = first[0] + (second[0] if second else "")
        given_s = first[1] + (second[1] if second else "")
        hant, hans = sur[0] + given_t, sur[1] + given_s
        if r < 0.6:
            hk_given = first[2] + ("-" + second[2].lower() if second else "")
            style = rng.random()
            if style < 0.55:
                en = f"{sur[2]} {hk_given}"
            elif style < 0.8:
                en = f"{pick(rng, HK_ENGLISH_NAMES)} {sur[2]}"
            else:
                en = f"{pick(rng, HK_ENGLISH_NAMES)} {sur[2]} {hk_given}"
        else:
            py = _pinyin([first[3]] + ([second[3]] if second else []))
            en = f"{sur[3]} {py}" if rng.random() < 0.7 else f"{py} {sur[3]}"
        return (en, hant, hans)
    if r < 0.97:
        g, s = pick(rng, FOREIGN_GIVEN), pick(rng, FOREIGN_SURNAMES)
        return (f"{g[0]} {s[0]}", f"{g[1]}·{s[1]}", f"{g[2]}·{s[2]}")
    return pick(rng, EAST_ASIAN)


def titled(rng: random.Random, role: Triple | None = None) -> tuple[Triple, Triple]:
    """(person, role) pair."""
    return person(rng), role or pick(rng, ROLES)
