"""Names for people outside the compositional Chinese pool: English first names used by Hong
Kong professionals, foreign names with Hong Kong and mainland transliterations (米高/迈克尔,
占士/詹姆斯 ...), and Japanese and Korean names."""

from __future__ import annotations

from sovtrain_synth.lexicon.common import table

# English first names common among Hong Kong professionals (English rendering only).
HK_ENGLISH_NAMES = """
Peter David Michael Raymond Kenneth Eric Alan Vincent Patrick Stanley Edmond Alvin Dennis Gary
Jason Kelvin Wilson Terence Samuel Anthony Ivan Jacky Louis Ricky Simon Tony Winnie Mandy Karen
Cathy Grace Iris Joyce Kitty Ada Bonnie Carmen Fiona Gloria Janet Queenie Rebecca Stella Vivian
Yvonne Agnes Cherry Eunice Phoebe Sharon Angus Brian Calvin Derek Felix Henry Howard Ken Leo
Marco Nelson Oscar Roy Sunny Timothy Wallace Alice Becky Cecilia Doris Elaine Florence Hazel
""".split()


FOREIGN_GIVEN = table(
    """
David|大衛|大卫
Michael|米高|迈克尔
George|佐治|乔治
James|占士|詹姆斯
Peter|彼得|彼得
John|約翰|约翰
Paul|保羅|保罗
Andrew|安德魯|安德鲁
Thomas|湯馬士|托马斯
William|威廉|威廉
Robert|羅拔|罗伯特
Richard|理查|理查德
Mark|馬克|马克
Stephen|史提芬|史蒂芬
Daniel|丹尼爾|丹尼尔
Martin|馬田|马丁
Oliver|奧利弗|奥利弗
Henrik|亨里克|亨里克
Klaus|克勞斯|克劳斯
Pierre|皮埃爾|皮埃尔
Sarah|莎拉|莎拉
Emily|艾美莉|艾米莉
Anna|安娜|安娜
Mary|瑪麗|玛丽
Elizabeth|伊利沙伯|伊丽莎白
Sophie|蘇菲|苏菲
Kate|凱特|凯特
Lucy|露西|露西
Helen|海倫|海伦
Catherine|嘉芙蓮|凯瑟琳
Julia|茱莉亞|朱莉娅
Maria|瑪莉亞|玛丽亚
Priya|普莉亞|普丽娅
Rahul|拉胡爾|拉胡尔
Ahmed|艾哈邁德|艾哈迈德
"""
)


FOREIGN_SURNAMES = table(
    """
Smith|史密斯|史密斯
Brown|布朗|布朗
Taylor|泰勒|泰勒
Wilson|威爾遜|威尔逊
Johnson|莊遜|约翰逊
Evans|伊雲斯|埃文斯
Thompson|湯普森|汤普森
Walker|獲加|沃克
Robinson|羅便臣|罗宾逊
Miller|米勒|米勒
Anderson|安德森|安德森
Müller|穆勒|穆勒
Schmidt|施密特|施密特
Fischer|費舍爾|费舍尔
Dubois|杜布瓦|杜布瓦
Rossi|羅西|罗西
Jansen|揚森|扬森
Nielsen|尼爾森|尼尔森
Kowalski|科瓦爾斯基|科瓦尔斯基
Garcia|加西亞|加西亚
Fernandes|費爾南德斯|费尔南德斯
Sharma|沙爾瑪|沙尔马
Patel|帕特爾|帕特尔
Rahman|拉赫曼|拉赫曼
"""
)


# Japanese and Korean names, family name first, as written in the region's press.
EAST_ASIAN = table(
    """
Tanaka Hiroshi|田中宏|田中宏
Sato Yuki|佐藤由紀|佐藤由纪
Suzuki Kenji|鈴木健二|铃木健二
Yamamoto Takeshi|山本健|山本健
Watanabe Akiko|渡邊明子|渡边明子
Nakamura Daisuke|中村大輔|中村大辅
Kobayashi Emi|小林惠美|小林惠美
Kim Min-jun|金敏俊|金敏俊
Park Ji-hoon|朴志勳|朴志勋
Lee Seo-yeon|李瑞妍|李瑞妍
Choi Hyun-woo|崔賢宇|崔贤宇
Kang Ji-won|姜智媛|姜智媛
Jung Eun-ji|鄭恩智|郑恩智
"""
)
