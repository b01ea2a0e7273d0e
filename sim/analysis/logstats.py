"""What a run did at each post, read from its event log: the workload ledger behind the structure view.

For every node of the governance graph: its load (requests picked up there) and its backlog (requests
still open there at the end), each also summed over the node's subtree; and for any subtree, the KPIs
of the requests raised in it (how many, how many answered and resolved in time, how fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.activities import ACTIVITIES
from sim.eventlog import ANSWERING, read_metadata
from sim.structure import District
from sim.structure.ids import post_of


@dataclass
class NodeStats:
    load: int = 0
    backlog: int = 0
    load_total: int = 0
    backlog_total: int = 0


class RunStats:
    """Per-node load and backlog, and per-request outcomes, of one logged run over ``district``."""

    def __init__(self, path: str | Path, district: District) -> None:
        self.path = Path(path)
        self.meta = read_metadata(path)
        self.district = district
        table = pq.read_table(
            self.path, columns=["case:concept:name", "concept:name", "org:resource", "time_h", "priority"]
        )
        act = table.column("concept:name").combine_chunks()
        post = table.column("org:resource").combine_chunks()
        acts = [str(a) for a in act.dictionary.to_pylist()]
        posts = [post_of(str(p)) for p in post.dictionary.to_pylist()]
        act_codes = act.indices.to_numpy()
        post_codes = post.indices.to_numpy()
        rid = table.column("case:concept:name").to_numpy()
        t = table.column("time_h").to_numpy()
        prio = table.column("priority").combine_chunks()
        prios = [str(p) for p in prio.dictionary.to_pylist()]
        prio_codes = prio.indices.to_numpy()

        def code(name: str) -> int:
            return acts.index(name) if name in acts else -1

        started = act_codes == code("started")
        load = np.bincount(post_codes[started], minlength=len(posts))
        frame = pd.DataFrame({"rid": rid, "act": act_codes, "post": post_codes, "t": t, "prio": prio_codes})
        last = frame.groupby("rid", sort=False).tail(1)
        closing = {code("resolved"), code("abandoned")}
        open_now = last[~last["act"].isin(list(closing))]
        backlog = np.bincount(open_now["post"].to_numpy(), minlength=len(posts))
        self.nodes: dict[str, NodeStats] = {}
        for i, name in enumerate(posts):
            s = self.nodes.setdefault(name, NodeStats())
            s.load += int(load[i])
            s.backlog += int(backlog[i])
        self._roll_up()
        self.requests = self._outcomes(frame, code, posts, prios)

    def _roll_up(self) -> None:
        g = self.district.graph
        for node in reversed(list(self.district.walk())):
            s = self.nodes.setdefault(node, NodeStats())
            s.load_total = s.load + sum(self.nodes[k].load_total for k in g.successors(node) if k in self.nodes)
            s.backlog_total = s.backlog + sum(
                self.nodes[k].backlog_total for k in g.successors(node) if k in self.nodes
            )

    def _outcomes(self, frame: pd.DataFrame, code: Any, posts: list[str], prios: list[str]) -> pd.DataFrame:
        """One row per request: where it arose, when it arrived, was answered and closed, and how."""
        doc = self.meta.get("scenario_doc", {}).get("deadlines", {})
        arrived = frame[frame["act"] == code("arrived")].drop_duplicates("rid").set_index("rid")
        answered = frame[frame["act"].isin([code(ACTIVITIES[a]) for a in ANSWERING])]
        closed = frame[frame["act"].isin([code("resolved"), code("abandoned")])].drop_duplicates("rid").set_index("rid")
        out = pd.DataFrame(
            {
                "origin": np.asarray(posts, dtype=object)[arrived["post"].to_numpy()],
                "priority": np.asarray(prios, dtype=object)[arrived["prio"].to_numpy()],
                "arrived": arrived["t"],
            },
            index=arrived.index,
        )
        out["answered"] = answered.groupby("rid")["t"].min()
        out["closed"] = closed["t"]
        out["abandoned"] = closed["act"] == code("abandoned")
        out["abandoned"] = out["abandoned"].fillna(False).astype(bool)
        resp = {p: float(doc.get(p, {}).get("response_h", np.inf)) for p in prios}
        res = {p: float(doc.get(p, {}).get("resolution_h", np.inf)) for p in prios}
        out["response_due"] = out["arrived"] + out["priority"].map(resp).astype(float)
        out["resolution_due"] = out["arrived"] + out["priority"].map(res).astype(float)
        return out

    def subtree_kpis(self, node: str) -> dict[str, Any]:
        """KPIs of the requests raised anywhere in ``node``'s subtree."""
        r = self.requests
        if node != "district":
            origin = r["origin"]
            r = r[(origin == node) | origin.str.startswith(node + "/")]  # in_scope, over a column
        end = float(self.meta.get("days", 0.0)) * 24.0
        n = len(r)
        resolved = r["closed"].notna() & ~r["abandoned"]
        due = r["resolution_due"] <= end
        times = (r["closed"] - r["arrived"])[resolved]
        return {
            "requests": n,
            "resolved": int(resolved.sum()),
            "abandoned": int(r["abandoned"].sum()),
            "open": int(r["closed"].isna().sum()),
            "response_rate": float((r["answered"] <= r["response_due"]).sum() / n) if n else None,
            "resolution_rate": float((resolved & due & (r["closed"] <= r["resolution_due"])).sum() / due.sum())
            if due.sum()
            else None,
            "resolution_time_mean_h": float(times.mean()) if len(times) else None,
        }
