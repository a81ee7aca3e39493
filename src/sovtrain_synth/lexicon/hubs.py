"""Transport hubs: world container ports (with UN/LOCODEs) and cargo airports (with IATA
codes), named in English, Traditional (HK transliterations such as 長堤, 修咸頓, 杜拜) and
Simplified (长滩, 南安普敦, 迪拜)."""

from __future__ import annotations

from sovtrain_synth.lexicon.common import rows

# UN/LOCODE | English | 繁體 | 简体
PORTS = rows(
    """
HKHKG|Hong Kong|香港|香港
CNYTN|Yantian|鹽田|盐田
CNSHK|Shekou|蛇口|蛇口
CNCWN|Chiwan|赤灣|赤湾
CNNSA|Nansha|南沙|南沙
CNSHA|Shanghai|上海|上海
CNNGB|Ningbo|寧波|宁波
CNTAO|Qingdao|青島|青岛
CNTXG|Tianjin Xingang|天津新港|天津新港
CNXMN|Xiamen|廈門|厦门
CNDLC|Dalian|大連|大连
CNLYG|Lianyungang|連雲港|连云港
CNFOC|Fuzhou|福州|福州
CNQZH|Qinzhou|欽州|钦州
SGSIN|Singapore|新加坡|新加坡
MYPKG|Port Klang|巴生港|巴生港
MYTPP|Tanjung Pelepas|丹戎帕拉帕斯|丹戎帕拉帕斯
THLCH|Laem Chabang|林查班|林查班
VNSGN|Ho Chi Minh City|胡志明市|胡志明市
VNHPH|Haiphong|海防|海防
PHMNL|Manila|馬尼拉|马尼拉
IDJKT|Jakarta|雅加達|雅加达
IDSUB|Surabaya|泗水|泗水
KRPUS|Busan|釜山|釜山
KRINC|Incheon|仁川|仁川
JPTYO|Tokyo|東京|东京
JPYOK|Yokohama|橫濱|横滨
JPUKB|Kobe|神戶|神户
JPOSA|Osaka|大阪|大阪
JPNGO|Nagoya|名古屋|名古屋
TWKHH|Kaohsiung|高雄|高雄
TWKEL|Keelung|基隆|基隆
LKCMB|Colombo|科倫坡|科伦坡
INNSA|Nhava Sheva|那瓦舍瓦|那瓦舍瓦
INMAA|Chennai|金奈|金奈
BDCGP|Chittagong|吉大港|吉大港
PKKHI|Karachi|卡拉奇|卡拉奇
AEJEA|Jebel Ali|傑貝阿里|杰贝阿里
SAJED|Jeddah|吉達|吉达
OMSLL|Salalah|塞拉萊|塞拉莱
EGPSD|Port Said|塞得港|塞得港
GRPIR|Piraeus|比雷埃夫斯|比雷埃夫斯
ESVLC|Valencia|華倫西亞|瓦伦西亚
ESALG|Algeciras|阿爾赫西拉斯|阿尔赫西拉斯
NLRTM|Rotterdam|鹿特丹|鹿特丹
BEANR|Antwerp|安特衞普|安特卫普
DEHAM|Hamburg|漢堡|汉堡
DEBRV|Bremerhaven|不來梅港|不来梅港
GBFXT|Felixstowe|費利克斯托|费利克斯托
GBSOU|Southampton|修咸頓|南安普敦
FRLEH|Le Havre|勒阿弗爾|勒阿弗尔
ITGOA|Genoa|熱那亞|热那亚
PLGDN|Gdansk|格但斯克|格但斯克
USLAX|Los Angeles|洛杉磯|洛杉矶
USLGB|Long Beach|長堤|长滩
USOAK|Oakland|奧克蘭|奥克兰
USSEA|Seattle|西雅圖|西雅图
USNYC|New York|紐約|纽约
USSAV|Savannah|薩凡納|萨凡纳
USHOU|Houston|侯斯頓|休斯敦
CAVAN|Vancouver|溫哥華|温哥华
CAPRR|Prince Rupert|魯珀特王子港|鲁珀特王子港
MXZLO|Manzanillo|曼薩尼約|曼萨尼约
PABLB|Balboa|巴爾博亞|巴尔博亚
PECLL|Callao|卡亞俄|卡亚俄
BRSSZ|Santos|桑托斯|桑托斯
CLSAI|San Antonio|聖安東尼奧|圣安东尼奥
AUSYD|Sydney|悉尼|悉尼
AUMEL|Melbourne|墨爾本|墨尔本
AUBNE|Brisbane|布里斯班|布里斯班
NZAKL|Auckland|奧克蘭|奥克兰
ZADUR|Durban|德班|德班
KEMBA|Mombasa|蒙巴薩|蒙巴萨
NGAPP|Apapa|阿帕帕|阿帕帕
MAPTM|Tanger Med|丹吉爾地中海港|丹吉尔地中海港
""",
    4,
)
HOME_PORTS = [p for p in PORTS if p[0].startswith(("HK", "CN"))]
FOREIGN_PORTS = [p for p in PORTS if not p[0].startswith(("HK", "CN"))]

# IATA | English | 繁體 | 简体
AIRPORTS = rows(
    """
HKG|Hong Kong International Airport|香港國際機場|香港国际机场
SZX|Shenzhen Bao'an International Airport|深圳寶安國際機場|深圳宝安国际机场
CAN|Guangzhou Baiyun International Airport|廣州白雲國際機場|广州白云国际机场
MFM|Macau International Airport|澳門國際機場|澳门国际机场
PVG|Shanghai Pudong International Airport|上海浦東國際機場|上海浦东国际机场
PEK|Beijing Capital International Airport|北京首都國際機場|北京首都国际机场
PKX|Beijing Daxing International Airport|北京大興國際機場|北京大兴国际机场
CTU|Chengdu Tianfu International Airport|成都天府國際機場|成都天府国际机场
CGO|Zhengzhou Xinzheng International Airport|鄭州新鄭國際機場|郑州新郑国际机场
EHU|Ezhou Huahu Airport|鄂州花湖機場|鄂州花湖机场
TPE|Taoyuan International Airport|桃園國際機場|桃园国际机场
SIN|Singapore Changi Airport|新加坡樟宜機場|新加坡樟宜机场
BKK|Suvarnabhumi Airport|素萬那普機場|素万那普机场
KUL|Kuala Lumpur International Airport|吉隆坡國際機場|吉隆坡国际机场
SGN|Tan Son Nhat International Airport|新山一國際機場|新山一国际机场
HAN|Noi Bai International Airport|內排國際機場|内排国际机场
MNL|Ninoy Aquino International Airport|尼諾伊·阿基諾國際機場|尼诺伊·阿基诺国际机场
ICN|Incheon International Airport|仁川國際機場|仁川国际机场
NRT|Narita International Airport|成田國際機場|成田国际机场
KIX|Kansai International Airport|關西國際機場|关西国际机场
DEL|Indira Gandhi International Airport|英迪拉·甘地國際機場|英迪拉·甘地国际机场
DXB|Dubai International Airport|杜拜國際機場|迪拜国际机场
DOH|Hamad International Airport|哈馬德國際機場|哈马德国际机场
FRA|Frankfurt Airport|法蘭克福機場|法兰克福机场
AMS|Amsterdam Schiphol Airport|阿姆斯特丹史基浦機場|阿姆斯特丹史基浦机场
LHR|London Heathrow Airport|倫敦希斯路機場|伦敦希思罗机场
CDG|Paris Charles de Gaulle Airport|巴黎戴高樂機場|巴黎戴高乐机场
LEJ|Leipzig/Halle Airport|萊比錫/哈雷機場|莱比锡/哈雷机场
LUX|Luxembourg Airport|盧森堡機場|卢森堡机场
ANC|Ted Stevens Anchorage International Airport|安克雷奇國際機場|安克雷奇国际机场
LAX|Los Angeles International Airport|洛杉磯國際機場|洛杉矶国际机场
ORD|Chicago O'Hare International Airport|芝加哥奧黑爾國際機場|芝加哥奥黑尔国际机场
JFK|John F. Kennedy International Airport|紐約甘迺迪國際機場|纽约肯尼迪国际机场
MEM|Memphis International Airport|孟菲斯國際機場|孟菲斯国际机场
SYD|Sydney Airport|悉尼機場|悉尼机场
""",
    4,
)
