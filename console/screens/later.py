"""Operate and Train modes before the operator queue store exists: what they will do, and what works now."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import Footer, Header, Static

from console.screens.base import ModeScreen

TEXT = {
    "operate": (
        "Operate: work the live queue of your post (resolve, pass to a department, blow the whistle, escalate),"
        " with every action kept in a durable store.",
        "值守：在本岗位的实时队列上办理诉求（办结、转部门、吹哨、上报），每次操作都持久保存。",
    ),
    "train": (
        "Train: a simulated shift at one post, the rest of the district played in scaled real time, scripted"
        " incidents, a score and an after-action report.",
        "培训：在一个岗位上模拟值班，其余由模拟按比例实时运行，含预设事件、评分与复盘报告。",
    ),
}
NOW = (
    "Not in this version yet. Meanwhile: 3 Replay plays a run's event log, 4 Compare runs scenarios side by side,"
    " 5 Structure shows the district.",
    "本版本尚未提供。现在可用：3 回放事件日志，4 比较情景，5 查看辖区结构。",
)


class LaterScreen(ModeScreen):
    mode = "operate"

    def compose(self) -> ComposeResult:
        zh = self.w.lang == "zh"
        yield Header()
        yield self.mode_bar(self.mode)
        with Center(), Vertical(id="later"):
            yield Static(TEXT[self.mode][1 if zh else 0], id="later-what")
            yield Static(f"[dim]{NOW[1 if zh else 0]}[/]", id="later-now")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.w(self.mode)


class OperateScreen(LaterScreen):
    mode = "operate"


class TrainScreen(LaterScreen):
    mode = "train"
