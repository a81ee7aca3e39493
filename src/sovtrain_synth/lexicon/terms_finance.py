"""Finance vocabulary: sectors, indices, instruments, ratios, accounting items, regulatory and
banking terms, market drivers. Hong Kong and mainland usage differ in many of these
(每股盈利/每股收益, 供股/配股, 關連交易/关联交易 ...): the third column spells the mainland term."""

from __future__ import annotations

from sovtrain_synth.lexicon.common import table

SECTORS = table(
    """
banking|銀行|银行
insurance|保險
property|地產|房地产
property management|物業管理
technology|科技
internet|互聯網|互联网
semiconductor|半導體
telecommunications|電訊|电信
utilities|公用事業
energy|能源
oil and gas|石油及天然氣|石油天然气
new energy vehicle|新能源汽車
consumer staples|必需消費|必需消费
consumer discretionary|非必需消費|可选消费
retail|零售
gaming|博彩
tourism|旅遊
healthcare|醫療保健
biotech|生物科技
pharmaceutical|醫藥
materials|原材料
steel|鋼鐵
construction|建築
infrastructure|基建
shipping|航運
logistics|物流
airline|航空
education|教育
media and entertainment|傳媒及娛樂|传媒娱乐
securities brokerage|證券經紀|证券经纪
"""
)

INDEXES = table(
    """
Hang Seng Index|恒生指數
Hang Seng China Enterprises Index|恒生中國企業指數
Hang Seng TECH Index|恒生科技指數
CSI 300|滬深300指數
Shanghai Composite Index|上證綜合指數
Shenzhen Component Index|深證成份指數
ChiNext Index|創業板指數
STAR 50 Index|科創50指數
Nikkei 225|日經平均指數|日经225指数
KOSPI|韓國綜合指數
Straits Times Index|海峽時報指數
TAIEX|台灣加權指數
S&P 500|標普500指數
Nasdaq Composite|納斯達克綜合指數
FTSE 100|富時100指數
STOXX Europe 600|斯托克歐洲600指數
"""
)

INSTRUMENTS = table(
    """
ordinary shares|普通股
preference shares|優先股
H shares|H股
A shares|A股
red chips|紅籌股
convertible bonds|可換股債券|可转换债券
green bonds|綠色債券
sustainability-linked bonds|可持續發展掛鈎債券|可持续发展挂钩债券
offshore renminbi bonds|點心債|点心债
panda bonds|熊貓債|熊猫债
government bonds|政府債券|国债
Exchange Fund Bills|外匯基金票據
Treasury bills|國庫券
commercial paper|商業票據
medium-term notes|中期票據
perpetual bonds|永續債券
certificates of deposit|存款證|存单
interest rate swaps|利率掉期|利率互换
cross-currency swaps|貨幣掉期|货币互换
FX forwards|外匯遠期合約|外汇远期合约
non-deliverable forwards|無本金交割遠期合約|无本金交割远期合约
index futures|指數期貨
stock options|股票期權
derivative warrants|衍生權證|衍生权证
callable bull/bear contracts|牛熊證|牛熊证
exchange-traded funds|交易所買賣基金|交易所交易基金
real estate investment trusts|房地產投資信託基金
money market funds|貨幣市場基金
unit trusts|單位信託基金|单位信托基金
structured deposits|結構性存款
syndicated loans|銀團貸款
term loans|定期貸款
revolving credit facilities|循環信貸融資|循环信贷额度
bridge loans|過渡性貸款
mortgage loans|按揭貸款|住房抵押贷款
trade loans|貿易貸款
invoice financing|發票融資
receivables financing|應收賬款融資
supply chain financing|供應鏈融資
standby letters of credit|備用信用證
bank guarantees|銀行保函
performance bonds|履約保函
documentary collections|跟單託收|跟单托收
export credit insurance|出口信用保險
forfaiting|福費廷
repurchase agreements|回購協議
credit default swaps|信用違約掉期|信用违约互换
asset-backed securities|資產抵押證券|资产支持证券
"""
)

RATIOS = table(
    """
price-to-earnings ratio|市盈率
price-to-book ratio|市賬率|市净率
dividend yield|股息率
return on equity|股本回報率|净资产收益率
return on assets|資產回報率|总资产收益率
net interest margin|淨息差
cost-to-income ratio|成本收入比率|成本收入比
loan-to-deposit ratio|貸存比率|存贷比
common equity tier 1 ratio|普通股權一級資本比率|核心一级资本充足率
total capital ratio|總資本比率|资本充足率
liquidity coverage ratio|流動性覆蓋比率|流动性覆盖率
net stable funding ratio|穩定資金淨額比率|净稳定资金比例
non-performing loan ratio|不良貸款比率|不良贷款率
provision coverage ratio|撥備覆蓋率|拨备覆盖率
gearing ratio|資本負債比率|资产负债率
net gearing|淨負債比率|净负债率
current ratio|流動比率
quick ratio|速動比率
interest coverage|利息保障倍數
gross margin|毛利率
operating margin|經營利潤率|营业利润率
net profit margin|純利率|净利率
EBITDA margin|EBITDA利潤率|EBITDA利润率
earnings per share|每股盈利|每股收益
book value per share|每股賬面值|每股净资产
dividend payout ratio|派息比率|分红率
inventory turnover days|存貨周轉天數
receivable turnover days|應收賬款周轉天數
free cash flow|自由現金流
combined ratio|綜合成本率
solvency ratio|償付能力充足率
loan-to-value ratio|按揭成數|贷款价值比
occupancy rate|出租率
same-store sales growth|同店銷售增長|同店销售增长
"""
)

ACCOUNTS = table(
    """
revenue|收益|营业收入
cost of sales|銷售成本|营业成本
gross profit|毛利
other income|其他收入
selling and distribution expenses|銷售及分銷開支|销售费用
administrative expenses|行政開支|管理费用
research and development expenses|研發開支|研发费用
operating profit|經營溢利|营业利润
finance costs|融資成本|财务费用
share of results of associates|應佔聯營公司業績|对联营企业的投资收益
profit before tax|除稅前溢利|利润总额
income tax expense|所得稅開支|所得税费用
profit for the year|年度溢利|净利润
profit attributable to shareholders|股東應佔溢利|归属于母公司股东的净利润
total comprehensive income|全面收益總額|综合收益总额
other comprehensive income|其他全面收益|其他综合收益
property, plant and equipment|物業、廠房及設備|固定资产
investment properties|投資物業|投资性房地产
right-of-use assets|使用權資產
intangible assets|無形資產
goodwill|商譽
inventories|存貨|存货
trade receivables|應收貿易賬款|应收账款
prepayments and deposits|預付款項及按金|预付款项及押金
cash and cash equivalents|現金及現金等價物
bank borrowings|銀行借款
lease liabilities|租賃負債
trade payables|應付貿易賬款|应付账款
contract liabilities|合約負債|合同负债
deferred tax liabilities|遞延稅項負債|递延所得税负债
provisions|撥備|预计负债
share capital|股本
share premium|股份溢價|股本溢价
retained earnings|保留盈利|未分配利润
non-controlling interests|非控股權益|少数股东权益
total equity|權益總額|所有者权益合计
net assets|資產淨值|净资产
operating cash flow|經營現金流量|经营活动现金流量
capital expenditure|資本開支|资本支出
impairment losses|減值虧損|减值损失
depreciation and amortisation|折舊及攤銷|折旧及摊销
fair value gains|公平值收益|公允价值变动收益
exchange losses|匯兌虧損|汇兑损失
loan loss provisions|貸款減值撥備|贷款减值准备
net interest income|淨利息收入|利息净收入
net fee and commission income|淨費用及佣金收入|手续费及佣金净收入
insurance revenue|保險收益|保险服务收入
contractual service margin|合約服務邊際|合同服务边际
assets under management|管理資產規模|资产管理规模
"""
)

REGULATORY = table(
    """
anti-money laundering|打擊洗錢|反洗钱
counter-terrorist financing|恐怖分子資金籌集|反恐怖融资
customer due diligence|客戶盡職審查|客户尽职调查
enhanced due diligence|加強盡職審查|强化尽职调查
know-your-customer checks|認識你的客戶審查|了解你的客户审查
ultimate beneficial owners|最終實益擁有人|最终受益所有人
politically exposed persons|政治人物|政治公众人物
suspicious transaction reports|可疑交易報告
sanctions screening|制裁篩查
transaction monitoring|交易監察|交易监测
insider dealing|內幕交易
market misconduct|市場失當行為
connected transactions|關連交易|关联交易
continuing disclosure obligations|持續披露責任|持续信息披露义务
inside information|內幕消息|内幕信息
profit warnings|盈利警告|业绩预警
trading halts|短暫停牌|临时停牌
the Listing Rules|《上市規則》
prospectus|招股章程|招股说明书
initial public offering|首次公開招股|首次公开发行
placing of new shares|配售新股
rights issue|供股|配股
share buy-backs|股份回購
scrip dividend scheme|以股代息計劃|以股代息计划
circular to shareholders|致股東通函|股东通函
annual general meeting|股東週年大會|年度股东大会
extraordinary general meeting|股東特別大會|临时股东大会
environmental, social and governance reporting|環境、社會及管治報告|环境、社会及治理报告
climate-related disclosures|氣候相關披露|气候相关信息披露
stress testing|壓力測試
capital conservation buffer|防護緩衝資本|储备资本
countercyclical capital buffer|逆周期緩衝資本|逆周期资本缓冲
Basel III final reforms|巴塞爾協定三最終改革方案|巴塞尔协议III最终改革方案
operational resilience|營運穩健性|运营韧性
outsourcing risk|外判風險|外包风险
data privacy|資料私隱|数据隐私
cross-border data transfer|跨境資料傳輸|跨境数据传输
cybersecurity incident reporting|網絡安全事故通報|网络安全事件报告
treating customers fairly|公平待客
suitability assessment|適合性評估|适当性评估
complex products|複雜產品|复杂产品
virtual asset trading|虛擬資產交易|虚拟资产交易
stablecoin issuance|穩定幣發行|稳定币发行
record keeping|備存紀錄|记录保存
travel rule|旅行規則|旅行规则
whistleblowing|舉報機制|举报机制
conflicts of interest|利益衝突
gifts and entertainment|饋贈及款待|礼品及招待
fit and proper requirements|適當人選準則|适当人选要求
manager-in-charge regime|核心職能主管制度|核心职能主管制度
"""
)

BANKING = table(
    """
savings account|儲蓄戶口|储蓄账户
current account|往來戶口|活期账户
time deposit|定期存款
overdraft|透支
telegraphic transfer|電匯
cheque clearing|支票結算|支票清算
mobile banking|流動理財|手机银行
credit card receivables|信用卡應收賬款|信用卡应收款
prime rate|最優惠利率
deposit protection|存款保障|存款保险
interbank market|銀行同業市場|银行间市场
aggregate balance|總結餘|总结余
base rate|基本利率|基准利率
loan prime rate|貸款市場報價利率|贷款市场报价利率
reserve requirement ratio|存款準備金率|存款准备金率
Stock Connect|股票通|沪深港通
Bond Connect|債券通|债券通
Wealth Management Connect|跨境理財通|跨境理财通
offshore renminbi liquidity|離岸人民幣流動性|离岸人民币流动性
Linked Exchange Rate System|聯繫匯率制度|联系汇率制度
"""
)

DRIVERS = table(
    """
stronger export orders|出口訂單轉強|出口订单转强
higher funding costs|融資成本上升
a recovery in inbound tourism|訪港旅客回升|入境旅游复苏
weaker consumer demand|消費需求疲弱
fresh regulatory guidance|新的監管指引
falling container freight rates|貨櫃運費回落|集装箱运价回落
expectations of further rate cuts|市場預期進一步減息|市场预期进一步降息
a rebound in technology shares|科技股反彈|科技股反弹
profit-taking after recent gains|早前升勢後的獲利回吐|前期上涨后的获利回吐
a stronger US dollar|美元轉強|美元走强
weaker-than-expected factory data|工廠數據遜於預期|工厂数据不及预期
southbound buying through Stock Connect|港股通南向資金買入|港股通南向资金买入
concerns over property developers' debt|對內房企業債務的憂慮|对房企债务的担忧
better-than-expected earnings|業績勝預期|业绩好于预期
tighter interbank liquidity|銀行同業流動性收緊|银行间流动性收紧
lower oil prices|油價下跌|油价下跌
supportive policy measures|利好政策措施
trade tensions|貿易摩擦
a pick-up in IPO activity|新股市場轉趨活躍|IPO市场回暖
rising bond yields|債券孳息上升|债券收益率上升
heavy turnover in bank stocks|銀行股交投活躍|银行股交投活跃
caution ahead of a central bank meeting|央行議息前市場觀望|央行议息前市场观望
a typhoon that shortened the trading session|颱風令交易時段縮短|台风导致交易时段缩短
strong demand for dividend stocks|高息股需求強勁|高股息股票需求强劲
"""
)


RATINGS = "AAA AA+ AA AA- A+ A A- BBB+ BBB BBB- BB+ BB".split()

FUND_STRATEGIES = table(
    """
Asia Pacific Income Fund|亞太收益基金
Greater China Equity Fund|大中華股票基金
Hong Kong Dollar Money Market Fund|港元貨幣市場基金
Asian Bond Fund|亞洲債券基金
Global Multi-Asset Fund|環球多元資產基金
China A-Share Opportunities Fund|中國A股機遇基金
ESG Leaders Fund|ESG領先基金
Dividend Growth Fund|股息增長基金
Technology Innovation Fund|科技創新基金
Renminbi Bond Fund|人民幣債券基金
"""
)
