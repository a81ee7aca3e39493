"""Broader noun-phrase vocabularies for meeting minutes and handover logs: risk, governance,
accounting and market topics on the finance side; terminal, fleet, warehouse, safety and
documentation topics on the logistics side. English|繁體 (HK)|简体 (mainland)."""

from __future__ import annotations

from sovtrain_synth.lexicon.common import table

FINANCE_TOPICS = table(
    """
accrued interest|應計利息|应计利息
yield to maturity|到期孳息率|到期收益率
duration risk|存續期風險|久期风险
credit spreads|信貸息差|信用利差
counterparty credit risk|交易對手信貸風險|交易对手信用风险
market risk limits|市場風險限額|市场风险限额
value at risk|風險值|风险价值
expected credit losses|預期信貸虧損|预期信用损失
stage 2 loans|第二階段貸款|第二阶段贷款
collateral haircuts|抵押品扣減|抵押品折扣率
margin calls|追加保證金|追加保证金
netting agreements|淨額結算協議|净额结算协议
hedge accounting|對沖會計|套期会计
the fair value hierarchy|公平值層級|公允价值层级
goodwill impairment testing|商譽減值測試|商誉减值测试
deferred tax assets|遞延稅項資產|递延所得税资产
related party balances|關聯方結餘|关联方余额
the going concern assessment|持續經營評估|持续经营评估
audit findings|審計結果|审计发现
internal control deficiencies|內部監控缺失|内部控制缺陷
segregation of duties|職責分工|职责分离
the three lines of defence|三道防線|三道防线
the risk appetite statement|風險承受能力聲明|风险偏好陈述
the recovery plan|恢復計劃|恢复计划
resolution planning|處置規劃|处置规划
the liquidity contingency plan|流動性應急計劃|流动性应急计划
funding concentration|融資集中度
deposit outflows|存款流出
interest rate risk in the banking book|銀行帳內利率風險|银行账簿利率风险
the net open currency position|淨未平倉外匯盤|外汇净敞口头寸
large exposure limits|大額風險承擔限度|大额风险暴露限额
credit concentration|信貸集中度
property lending|物業貸款|房地产贷款
SME lending|中小企貸款|小微企业贷款
the green finance taxonomy|綠色金融分類目錄
transition finance|轉型金融
carbon credits|碳信用
scope 3 emissions|範圍三排放|范围三排放
board diversity|董事會多元化
the remuneration policy|薪酬政策
the share option scheme|購股權計劃|股票期权计划
employee share awards|僱員股份獎勵|员工股份奖励
treasury shares|庫存股份|库存股
the dividend policy|股息政策|分红政策
capital management|資本管理
the debt maturity profile|債務到期情況|债务到期结构
refinancing risk|再融資風險
covenant headroom|契諾寬裕度|承诺条款余量
the credit rating outlook|信貸評級展望|信用评级展望
investor relations|投資者關係
the results roadshow|業績路演
analyst consensus|分析師普遍預期|分析师一致预期
earnings guidance|盈利指引|业绩指引
the order backlog|未完成訂單|在手订单
pricing power|定價能力
the working capital cycle|營運資金周期
cash conversion|現金轉換
procurement costs|採購成本
foreign currency translation|外幣換算|外币折算
tax disputes|稅務爭議
litigation provisions|訴訟撥備|诉讼准备
insurance coverage|保險保障範圍
business continuity planning|業務持續計劃|业务连续性计划
third-party risk management|第三方風險管理
model risk|模型風險
data governance|數據管治|数据治理
artificial intelligence use cases|人工智能應用場景
cloud migration|雲端遷移|云迁移
payment fraud|支付詐騙|支付欺诈
account takeover scams|賬戶盜用騙案|账户盗用诈骗
mule accounts|傀儡戶口|涉诈账户
the customer complaints trend|客戶投訴趨勢
product governance|產品管治|产品治理
vulnerable customers|弱勢客戶
mystery shopping results|神秘顧客審查結果|神秘顾客检查结果
the branch network review|分行網絡檢討|分行网络评估
digital onboarding|數碼開戶|数字化开户
open API adoption|開放應用程式介面的應用|开放API的应用
faster payment adoption|快速支付普及率|快速支付使用率
cross-border remittances|跨境匯款
trade finance volumes|貿易融資量
the fee income mix|費用收入組合|手续费收入结构
the cost savings programme|節省成本計劃|降本增效计划
the headcount plan|人手編制計劃|人员编制计划
staff training completion|員工培訓完成率
regulatory examinations|監管審查|监管检查
"""
)

LOGISTICS_TOPICS = table(
    """
berth productivity|泊位生產力|泊位效率
the terminal appointment system|碼頭預約系統|码头预约系统
truck queue length|貨車輪候車龍長度|集卡排队长度
the chassis pool|拖架共用池|底盘车共享池
the empty container depot|吉櫃場|空箱堆场
container inspections|貨櫃檢查|集装箱检验
container repairs|貨櫃維修|集装箱维修
reefer pre-trip inspections|冷凍櫃出車前檢查|冷藏箱预检
dangerous goods segregation|危險品隔離|危险品隔离
lithium battery labelling|鋰電池標籤|锂电池标签
overweight containers|超重貨櫃|超重集装箱
cargo securing|貨物固定|货物加固
hatch covers|艙蓋|舱盖
ballast water reporting|壓載水申報|压载水申报
the bunkering schedule|加油安排|加油计划
shore power connections|岸電接駁|岸电连接
slow steaming|慢速航行|减速航行
port state control inspections|港口國監督檢查|港口国监督检查
crew changes|船員更替|船员换班
general average declarations|共同海損宣告|共同海损宣告
cargo surveys|貨物檢驗|货物检验
tally reports|理貨報告|理货报告
stuffing and stripping|裝櫃及拆櫃|装箱及拆箱
last-mile delivery|最後一公里配送
delivery slots|派送時段|配送时段
route optimisation|路線優化|路线优化
fleet utilisation|車隊使用率|车队利用率
fuel consumption|燃料消耗
electric truck charging|電動貨車充電|电动货车充电
driver rostering|司機編更|司机排班
vehicle maintenance|車輛保養|车辆保养
tyre inspections|輪胎檢查|轮胎检查
GPS tracking gaps|GPS追蹤中斷|GPS追踪中断
the proof of delivery backlog|簽收證明積壓|签收单积压
returns processing|退貨處理|退货处理
inventory accuracy|存貨準確率|库存准确率
cycle counting|循環盤點|循环盘点
the slotting plan|貨位規劃|货位规划
pick accuracy|揀貨準確率|拣货准确率
the order cut-off|截單時間|截单时间
replenishment|補貨|补货
safety stock levels|安全庫存水平|安全库存水平
stockouts|缺貨|缺货
expiry date control|有效期管理
batch traceability|批次追溯
temperature mapping|溫度分佈測試|温度分布验证
fire safety inspections|消防安全檢查
the sprinkler system|花灑系統|喷淋系统
racking inspections|貨架檢查|货架检查
forklift licences|鏟車牌照|叉车证
manual handling|人力提舉|人工搬运
personal protective equipment|個人防護裝備|个人防护装备
near-miss reports|險失事故報告|未遂事件报告
heat stress at work|工作暑熱壓力|高温作业
pest control|防治蟲鼠|虫害防治
security patrols|保安巡邏|安保巡逻
CCTV coverage|閉路電視覆蓋|监控覆盖
access control|出入管制|门禁管理
energy consumption|能源消耗|能耗
rooftop solar panels|天台太陽能板|屋顶光伏板
the carbon footprint|碳足跡|碳足迹
packaging waste|包裝廢物|包装废弃物
pallet pooling|卡板共用|托盘共享
customer KPIs|客戶關鍵績效指標|客户关键绩效指标
the service level agreement|服務水平協議|服务水平协议
the on-time delivery rate|準時送貨率|准时交付率
the claims ratio|索償比率|索赔率
billing disputes|收費爭議|计费争议
freight audits|運費審核|运费审核
rate contracts|運價合約|运价合同
space allocation|艙位分配|舱位分配
booking confirmations|訂艙確認|订舱确认
shipping instructions|提單資料|提单补料
VGM submissions|核實總重量提交|VGM提交
customs holds|海關扣貨|海关扣货
manifest amendments|艙單修改|舱单修改
telex releases|電放|电放
switch bills of lading|轉換提單|换单
demurrage invoices|滯期費發票|滞期费发票
free time extensions|免費期延長|免费期延长
"""
)
