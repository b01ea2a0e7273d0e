"""The console's words in Chinese and English: levels, priorities, modes and labels.

Category and place names come from the scenario itself (``name`` and ``name_en``); everything else the
console says is looked up here, so ``--lang zh`` and ``--lang en`` show the same screens in either.
"""

from __future__ import annotations

import locale
import os

LEVELS = {
    "district": ("区", "district"),
    "department": ("区直部门", "department"),
    "street": ("街道", "street"),
    "town": ("镇", "town"),
    "community": ("社区", "community"),
    "village": ("村", "village"),
    "grid": ("网格", "grid"),
    "building": ("楼栋", "building"),
    "unit": ("单元", "unit"),
    "committee_member": ("村委委员", "committee member"),
    "representative": ("村民代表", "villager representative"),
}
PRIORITIES = {"special": ("特事", "special"), "urgent": ("急事", "urgent"), "ordinary": ("普件", "ordinary")}
WORDS = {
    "operate": ("值守", "Operate"),
    "train": ("培训", "Train"),
    "replay": ("回放", "Replay"),
    "compare": ("比较", "Compare"),
    "structure": ("结构", "Structure"),
    "help": ("帮助", "Help"),
    "quit": ("退出", "Quit"),
    "households": ("户", "households"),
    "residents": ("居民", "residents"),
    "staff": ("人员", "staff"),
    "load": ("工作量", "load"),
    "backlog": ("积压", "backlog"),
    "requests": ("诉求", "requests"),
    "resolved": ("已解决", "resolved"),
    "open": ("未结", "open"),
    "abandoned": ("转热线", "abandoned"),
    "response_rate": ("响应率", "response rate"),
    "resolution_rate": ("解决率", "resolution rate"),
    "resolution_time": ("平均解决时间", "mean resolution time"),
    "post": ("岗位", "post"),
    "priority": ("类别", "priority"),
    "category": ("事项", "category"),
    "age": ("已等", "age"),
    "deadline": ("时限", "deadline"),
    "state": ("状态", "state"),
    "office": ("街镇", "office"),
    "open_now": ("当前未结", "open now"),
    "play": ("播放", "play"),
    "paused": ("暂停", "paused"),
    "playing": ("播放中", "playing"),
    "speed": ("速度", "speed"),
    "filter": ("筛选", "filter"),
    "seek": ("跳转", "go to"),
    "scenarios": ("情景", "scenarios"),
    "replications": ("重复次数", "replications"),
    "days": ("天数", "days"),
    "run": ("运行", "Run"),
    "kpi": ("指标", "KPI"),
    "verdict": ("结论", "verdict"),
    "difference": ("差值", "difference"),
    "better": ("更好", "better"),
    "worse": ("更差", "worse"),
    "no significant difference": ("无显著差异", "no significant difference"),
    "n.s.": ("无显著差异", "no sig."),
    "higher": ("更高", "higher"),
    "lower": ("更低", "lower"),
    "no data": ("无数据", "no data"),
    "last_run": ("上次运行", "last run"),
    "no_run": ("尚无运行数据", "no run yet"),
    "no_log": ("未打开事件日志", "no event log open"),
    "day_unit": ("天", "days"),
    "event": ("事件", "event"),
    "in": ("剩", "in"),
    "late": ("超", "late"),
    "new": ("新", "new"),
    "waiting": ("等待", "waiting"),
    "in hand": ("办理中", "in hand"),
    "settled": ("已处置", "settled"),
    "passed on": ("已转办", "passed on"),
    "sent up": ("已上报", "sent up"),
    "returned": ("已退回", "returned"),
    "whistled": ("已吹哨", "whistled"),
    "handed off": ("已移交", "handed off"),
    "other_log": ("事件日志来自另一情景", "the event log is of another scenario"),
    "building the district": ("正在构建辖区", "building the district"),
    "still building": ("辖区仍在构建中", "the district is still being built"),
    "simulating": ("正在模拟", "simulating"),
    "already running": ("已在运行，请等待完成", "already running: wait for it to finish"),
    "reading the run's log": ("正在读取运行日志", "reading the run's log"),
    "compare what": (
        "勾选情景（第一个为基准），可添加基准的变体，设置重复次数和天数，按 ctrl+r 运行。",
        "Tick scenarios (the first is the base), add variants of the base, set replications and days; ctrl+r"
        " runs them.",
    ),
    "variants of": ("变体，基于", "variants of"),
    "variant label": ("变体名称", "label"),
    "variant label example": ("如：不吹哨", "no whistle"),
    "variant changes": ("修改", "changes"),
    "variant changes example": ("键=值; 键=值", "key=value; …"),
    "enter adds the variant": ("按回车添加该变体", "enter adds the variant"),
    "then its changes": ("再填写修改：键=值; 键=值", "then its changes: key=value; key=value"),
    "variant not added": (
        "变体尚未添加：按回车添加，或清空变体名称和修改",
        "the variant typed is not added yet: enter adds it (or clear its fields)",
    ),
    "a label first": ("先填写变体名称", "give the variant a label first"),
    "no variants": ("尚无变体：按 v 添加", "no variants: v adds one"),
    "pick a variant": ("先在变体列表中选中要删除的变体", "pick the variant to remove in the list first"),
    "the base cannot run": ("基准情景无法运行，其变体也无法运行", "the base cannot run, nor can its variants"),
    "cannot run alone": ("不能单独运行", "cannot run on its own"),
    "checking scenario files": ("正在检查情景文件", "checking the scenario files"),
    "still checking files": ("仍在检查情景文件", "still checking the scenario files"),
    "comparison running": ("比较正在运行", "a comparison is running"),
    "tick a scenario": ("请至少勾选一个情景（空格键）", "tick at least one scenario (space)"),
    "comparing": ("正在比较", "comparing"),
    "against": ("为配对差值，对照", "against"),
    "verdicts, Holm": ("结论按 Holm 法（整体错误率 5%）", "verdicts at 5% over all KPIs (Holm)"),
    "judged on": ("评判请求数", "judged on"),
    "too short to judge": ("运行太短，无法评判", "too short to judge"),
    "replication": ("重复", "replication"),
    "not in the results": ("未计入结果", "not in the results"),
    "sign in first": ("请先登录岗位", "sign in at a post first"),
    "start a shift first": ("请先开始值班", "no shift under way: pick a training scenario and start it"),
    "nothing to undo": ("没有可撤销的处置", "nothing to undo: u takes back your last settle"),
    "too late to undo": ("已过撤销时限", "too late to undo: a settle can be taken back within"),
    "no request under the cursor": ("未选中诉求", "no request under the cursor"),
    "is claimed by": ("已被认领：", "is claimed by"),
    "is yours already": ("已由你认领", "is yours already"),
    "is not claimed by you": ("不是你认领的", "is not claimed by you"),
    "whistle at street or town": ("只有街道、镇可以吹哨", "only street and town offices blow the whistle"),
    "is": ("状态：", "is"),
    "opening the training store": ("正在打开培训诉求库", "opening the training store"),
    "finishing": ("正在结束", "finishing"),
    "finish first": ("请先结束当前值班（f）", "finish the shift under way first (f)"),
    "the shift is over": ("本次值班已结束：按 N 开始新的值班", "the shift is over: N starts a new one"),
    "setting up the store": ("正在用本情景的辖区建立诉求库", "setting up the queue store with the district"),
    "signed in already": ("已登录：诉求库已在使用", "signed in already: the store is in use"),
    "due response": ("响应", "resp"),
    "due resolution": ("办结", "resol"),
    "reading": ("正在读取", "reading"),
    "still reading": ("仍在读取", "still reading"),
    "no log: o opens one": ("未打开事件日志：按 o 打开", "no event log open: o opens one"),
    "fastest": ("已是最快", "already the fastest"),
    "slowest": ("已是最慢", "already the slowest"),
    "at the start": ("已在开头", "already at the start"),
    "at the end": ("已在结尾", "already at the end"),
    # operating a queue
    "claimed": ("已认领", "claimed"),
    "claimed (you)": ("我已认领", "claimed (you)"),
    "away": ("已转出", "away"),
    "closed": ("已办结", "closed"),
    "did arrived": ("收到", "arrived"),
    "did back": ("退回本岗", "back"),
    "did moved": ("已移走", "moved"),
    "did closed": ("已办结", "closed"),
    "did confirm": ("处置生效", "confirm"),
    "did handed back": ("交回岗位", "handed back"),
    "did claim": ("认领", "claim"),
    "did release": ("放回", "release"),
    "did settle": ("处置", "settle"),
    "did pass": ("转办", "pass"),
    "did whistle": ("吹哨", "whistle"),
    "did escalate": ("上报", "escalate"),
    "did return": ("退回", "return"),
    "did note": ("备注", "note"),
    "did undo": ("撤销", "undo"),
    "request": ("诉求内容", "request"),
    "overdue": ("超时", "overdue"),
    "showing all": ("含已转办和已办结", "showing all"),
    "no request": ("未选中诉求", "no request selected"),
    "raised at": ("提出于", "raised at"),
    "now at": ("现在", "now at"),
    "response due": ("响应时限", "response due"),
    "resolution due": ("解决时限", "resolution due"),
    "done": ("已完成", "done"),
    "history": ("办理记录", "history"),
    "claim": ("认领", "claimed"),
    "release": ("放回", "released"),
    "undo": ("撤销", "undo"),
    "how settled": ("如何处置", "how was it settled?"),
    "settle example": ("例如：已联系物业更换灯泡", "e.g. called the property manager, bulb replaced"),
    "pass": ("转办", "pass"),
    "pass to": ("转办给", "pass to"),
    "whistle": ("吹哨", "whistle"),
    "summon": ("吹哨召集", "summon"),
    "nothing above": ("上面没有可上报的岗位", "there is no post above"),
    "escalate": ("上报", "escalate"),
    "return": ("退回", "return"),
    "for study": ("研究处理", "for study"),
    "nothing below": ("下面没有岗位", "there is no post below"),
    "return to": ("退回给", "return to"),
    "summoned": ("已召集", "summoned:"),
    "yes": ("确定", "Yes"),
    "no": ("取消", "No"),
    "noted": ("已备注", "noted"),
    "note on": ("备注", "note on"),
    "settle undone": ("已撤销处置", "settle undone"),
    "sign in as": ("以岗位登录（tab 进入输入框）", "Sign in at a post (tab to the field)"),
    "you act as": ("本机账户", "You act as"),
    "granted posts": (
        "只能在管理员授权的岗位及其下级登录（microgov queue grant）",
        "at the posts an admin granted you and below them (microgov queue grant)",
    ),
    "sign in": ("登录", "Sign in"),
    "operate what": (
        "在本岗位的实时队列上办理诉求：认领、处置、转办、吹哨、上报、退回，每次操作都持久保存。",
        "Work your post's live queue: claim, settle, pass to a department, whistle, escalate, return down;"
        " every action is kept in the queue store.",
    ),
    "store": ("诉求库", "store"),
    "no store": ("还没有诉求库", "no queue store yet"),
    "press i": (
        "按 F2（或下方按钮）用本情景的辖区建立。",
        "Press F2 (or the button below) to set it up with this scenario's district.",
    ),
    "set up store": ("建立诉求库", "Set up the store"),
    "posts": ("个岗位", "posts"),
    "no district": ("诉求库中还没有辖区。", "The store has no district loaded."),
    # training
    "training scenarios": ("培训情景", "Training scenarios"),
    "trainee": ("学员", "trainee"),
    "start shift": ("开始值班", "Start shift"),
    "no training": ("没有找到培训情景", "no training scenarios found"),
    "warming up": ("辖区运行到值班开始", "running the district up to the shift"),
    "resumed": ("已恢复值班", "resumed shift"),
    "finished": ("已结束", "finished"),
    "paused to resume": ("时钟已暂停，按空格键继续", "the clock is paused: space plays on"),
    "briefing": ("任务简介", "Briefing"),
    "briefing close": (
        "按 Esc 或 b 关闭；随时按 b 再看（阅读时时钟暂停）",
        "escape or b closes it (b again at any time; the clock waits meanwhile)",
    ),
    "finish now": ("现在结束值班并评分？", "End the shift now and score it?"),
    "scoring": ("正在评分并撰写复盘报告", "scoring the shift and writing the report"),
    "score": ("得分", "Score"),
    "part": ("项目", "part"),
    "engine policy": ("模拟标准做法", "engine policy"),
    "weight": ("权重", "weight"),
    "total": ("总分", "total"),
    "report": ("复盘报告", "report"),
    "timeline": ("时间线", "timeline"),
    "new shift": ("新的值班", "new shift"),
    "response": ("及时响应", "response"),
    "resolution": ("及时解决", "resolution"),
    "routing": ("处置与转办", "routing"),
    "whistles": ("吹哨", "whistles"),
    "escalations": ("上报", "escalations"),
}


#: Key descriptions shown in the footer and the help screen.
PHRASES = {
    "Operate": "值守",
    "Train": "培训",
    "Replay": "回放",
    "Compare": "比较",
    "Structure": "结构",
    "Help": "帮助",
    "Quit": "退出",
    "Close": "关闭",
    "Cancel": "取消",
    "Run a week": "运行一周",
    "Open offices": "展开街镇",
    "Play": "播放",
    "−event": "上一事件",
    "+event": "下一事件",
    "−hour": "后退一小时",
    "+hour": "前进一小时",
    "Faster": "加速",
    "Slower": "减速",
    "Go to": "跳转",
    "Filter": "筛选",
    "Clear filter": "清除筛选",
    "Open": "打开日志",
    "Run comparison": "运行比较",
    "Claim": "认领",
    "Settle": "处置",
    "Pass": "转办",
    "Whistle": "吹哨",
    "Escalate": "上报",
    "Down": "退回",
    "Note": "备注",
    "Undo": "撤销",
    "Release": "放回",
    "All": "全部",
    "Set up store": "建立诉求库",
    "Pause": "暂停",
    "Finish": "结束值班",
    "New shift": "新的值班",
    "Briefing": "任务简介",
    "Yes": "确定",
    "No": "取消",
    "Go ahead": "确定",
    "event": "事件",
    "hour": "小时",
    "speed": "速度",
    "Form": "设置",
    "Charts": "图表",
    "Variant": "变体",
    "Remove variant": "删除变体",
}


def default_lang() -> str:
    """Chinese when the locale says so, English otherwise."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    code = locale.getlocale()[0] or ""
    return "zh" if code.lower().startswith("zh") else "en"


class Words:
    """Look up the console's words in one language."""

    def __init__(self, lang: str) -> None:
        if lang not in ("zh", "en"):
            raise ValueError(f"language must be zh or en, found {lang!r}")
        self.lang = lang
        self._i = 0 if lang == "zh" else 1

    def __call__(self, key: str) -> str:
        pair = WORDS.get(key)
        return pair[self._i] if pair else key

    def phrase(self, english: str) -> str:
        """A key's description in this language."""
        return PHRASES.get(english, english) if self.lang == "zh" else english

    def level(self, level: str) -> str:
        pair = LEVELS.get(level)
        return pair[self._i] if pair else level

    def priority(self, priority: str) -> str:
        pair = PRIORITIES.get(priority)
        return pair[self._i] if pair else priority

    def name(self, attrs: dict[str, object]) -> str:
        """A node's (or category's) name in this language."""
        return str(attrs.get("name" if self.lang == "zh" else "name_en") or attrs.get("name") or "")
