"""Hand-written finance and logistics passages the generator never produces.

Used to check that a tokenizer trained on the synthetic corpus generalises to ordinary
domain prose (different vocabulary, phrasing and entities). Written for sovtrain; not taken
from any publication. Traditional Chinese follows Hong Kong usage.
"""

from __future__ import annotations

REFERENCE_TEXT: dict[str, list[str]] = {
    "en": [
        "The central bank kept its base rate unchanged, citing sticky services inflation and a "
        "softer labour market, while signalling that cuts could follow in the second half.",
        "Net interest margin narrowed by eleven basis points as deposit costs caught up with "
        "asset yields; management expects loan growth in the low single digits next year.",
        "The issuer priced a five-year green bond at 85 basis points over Treasuries, with "
        "proceeds earmarked for energy-efficient warehouses and electric delivery fleets.",
        "Our freight forwarder booked two forty-foot high-cube containers on the Friday sailing; "
        "the shipper must submit the verified gross mass before the terminal cut-off.",
        "Customs released the consignment after a documentary check, but the importer was asked "
        "to correct the tariff classification and pay the duty difference within ten days.",
        "Warehouse throughput dipped during the peak-season surge because two forklifts were "
        "out of service and inbound trucks queued for more than three hours at the dock.",
    ],
    "zh-Hant": [
        "金管局維持基本利率不變，並指出服務業通脹仍然偏高，勞工市場稍為放緩，下半年或有減息空間。",
        "由於存款成本追上資產收益，淨息差收窄十一個基點；管理層預期明年貸款增長僅為低單位數。",
        "發行人以較美國國債高八十五個基點的息差，定價一筆五年期綠色債券，所得款項用於節能倉庫。",
        "貨運代理已為週五開航的船期預訂兩個四十呎高櫃，付貨人須於碼頭截關前提交核實總重量。",
        "海關完成文件查驗後放行貨物，但要求進口商更正稅則分類，並於十日內補繳關稅差額。",
        "旺季期間倉庫處理量下跌，原因是兩部叉車停用，而入倉貨車在卸貨區輪候超過三小時。",
    ],
    "zh-Hans": [
        "央行维持基准利率不变，并指出服务业通胀依然偏高，劳动力市场有所降温，下半年或有降息空间。",
        "由于存款成本追上资产收益，净息差收窄十一个基点；管理层预计明年贷款增速仅为个位数低段。",
        "发行人以较美国国债高八十五个基点的利差，定价一笔五年期绿色债券，募集资金用于节能仓库。",
        "货运代理已为周五开航的船期预订两个四十英尺高柜，托运人须于码头截关前提交核实总重量。",
        "海关完成单证查验后放行货物，但要求进口商更正税则归类，并于十日内补缴关税差额。",
        "旺季期间仓库吞吐量下降，原因是两台叉车停用，而入库货车在卸货区排队超过三小时。",
    ],
}
