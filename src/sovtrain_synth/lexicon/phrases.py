# ruff: noqa: E501
"""Longer parallel boilerplate: compliance obligations, outlook statements, disclaimers and
notes. One row per line, English|繁體|简体."""

from __future__ import annotations

from sovtrain_synth.lexicon.common import table

NOTES = table(
    """
Comparative figures have been restated where appropriate.|比較數字已按需要重列。|比较数据已根据需要重述。
The financial information has been reviewed by the audit committee.|財務資料已由審核委員會審閱。|财务信息已经审计委员会审阅。
Figures are unaudited.|有關數字未經審核。|相关数据未经审计。
"""
)

DISCLAIMERS = table(
    """
Investment involves risks. Past performance is not indicative of future performance.|投資涉及風險，過往表現並不代表將來表現。|投资涉及风险，过往业绩并不预示其未来表现。
Investors should read the offering documents for details, including the risk factors.|投資者應細閱銷售文件，包括風險因素，以了解詳情。|投资者应仔细阅读发售文件，包括风险因素，以了解详情。
This material has not been reviewed by any regulator.|本文件未經任何監管機構審閱。|本文件未经任何监管机构审阅。
"""
)

OBLIGATIONS = table(
    """
customer due diligence must be refreshed for all high-risk accounts|所有高風險賬戶須更新客戶盡職審查|所有高风险账户须更新客户尽职调查
suspicious transactions must be reported within two business days|可疑交易須於兩個工作天內舉報|可疑交易须于两个工作日内报告
cross-border data transfers require a signed standard contract|跨境資料傳輸須簽訂標準合同|跨境数据传输须签订标准合同
sanctions screening applies to every trade finance counterparty|所有貿易融資交易對手均須進行制裁篩查|所有贸易融资交易对手均须进行制裁筛查
ultimate beneficial owners holding 25% or more must be identified and verified|持有25%或以上權益的最終實益擁有人須予識別及核實|持有25%或以上权益的最终受益所有人须予识别和核实
dual-control approval is required for payments above the threshold|超過限額的付款須經雙人覆核批准|超过限额的付款须经双人复核审批
staff dealing accounts must be declared within ten days of opening|員工交易賬戶須於開立後十日內申報|员工交易账户须于开立后十日内申报
complaints must be acknowledged within seven days and resolved within two months|投訴須於七日內確認收悉，並於兩個月內處理完畢|投诉须于七日内确认收悉，并于两个月内处理完毕
client money must be segregated in a designated trust account|客戶款項須存放於指定信託戶口|客户资金须存放于指定信托账户
high-risk third countries require senior management approval|涉及高風險第三國的業務須經高級管理層批准|涉及高风险第三国的业务须经高级管理层批准
call recordings must be kept for at least seven years|電話錄音須保存最少七年|电话录音须至少保存七年
cybersecurity incidents must be notified within 24 hours|網絡安全事故須於24小時內通報|网络安全事件须于24小时内报告
outsourcing arrangements must be reviewed annually|外判安排須每年檢討|外包安排须每年审查
trade-based money laundering red flags must be escalated to compliance|與貿易有關的洗錢警示須上報合規部|与贸易相关的洗钱预警须上报合规部
"""
)

OUTLOOKS = table(
    """
we expect volatility to stay elevated until the rate path is clearer|我們預期在利率走向明朗前，市況會持續波動|我们预计在利率路径明朗之前，市场将持续波动
earnings revisions have turned positive for the first time in a year|盈利預測一年來首次獲上調|盈利预测一年来首次上调
valuations remain undemanding relative to regional peers|與區內同業相比，估值仍然吸引|与区域同业相比，估值仍具吸引力
we remain selective and prefer companies with strong cash flow|我們會繼續精挑細選，偏好現金流穩健的公司|我们将继续精选个股，偏好现金流稳健的公司
the recovery is uneven across sectors|各行業的復甦步伐並不一致|各行业的复苏步伐并不一致
funding costs should ease in the second half|下半年融資成本應會回落|下半年融资成本有望回落
we are cautious on property but constructive on banks|我們對地產股審慎，但看好銀行股|我们对地产股持谨慎态度，但看好银行股
dividend stocks should continue to attract income investors|高息股應繼續吸引收息投資者|高股息股票将继续吸引追求收益的投资者
"""
)
