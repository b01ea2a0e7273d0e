"""Who may do what to a request: the one table of operators' actions, and every refusal's wording.

Like the duty rules pinned on a command centre's wall, it says for each action (claim, release, settle,
pass, whistle, escalate, return, note, undo) which posts may take it, on requests in which state, and
what it needs (a note, a department, a post above or below); and what a department summoned by a
whistle may do with the request it was called to: its part only (claim its part, note, report it done,
hand it back), never the whole request. The queue store applies it to its rows, the simulation's post
played by a person (a trainee) to the engine's view of a request, and the console to decide which keys
it offers; each says why it refuses in the same words, because the words live here.

A request stands in one of three relations to the post acting on it: inside the post's jurisdiction
(at the post or below it), summoned (the post is a department an open summons names), or outside.
Accounts hold a role: ``operator`` acts where their grants cover; ``supervisor`` may also let go of a
claim someone else holds there (a colleague who left the desk); ``admin`` also manages accounts and
grants, changes a live store's district and exports the audit log.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from os import PathLike

#: The request is at the acting post or below it.
JURISDICTION = "jurisdiction"
#: The acting post is a department an open summons (a whistle) names.
SUMMONED = "summoned"
#: Neither: the post has no business with the request.
OUTSIDE = "outside"

ROLES = ("operator", "supervisor", "admin")
#: Roles that may let go of a claim (or a summoned department's part) someone else holds.
SUPERVISING = frozenset({"supervisor", "admin"})
#: What only an admin may do, beyond acting on requests.
ADMIN_ONLY = {
    "grant": "granting posts",
    "revoke": "revoking grants",
    "operators": "listing operators",
    "migrate": "changing a live store's district",
    "export-log": "exporting the audit log",
}
#: Seconds within which a settle can be taken back.
UNDO_WINDOW_S = 10.0
#: The levels of a street or town office, the posts that blow the whistle.
OFFICE_LEVELS = frozenset({"street", "town"})
#: Request states in which it can be worked (settled, passed on, ...) at a post.
WORKABLE = frozenset({"open", "claimed"})


@dataclass(frozen=True)
class Rule:
    """One action: what it does, who may take it, what it needs."""

    action: str
    does: str
    """What it does, in a few words (help and key hints)."""
    summoned: str = ""
    """What it does when a summoned department takes it (``""``: a summoned department may not)."""
    levels: frozenset[str] | None = None
    """The levels of post that may take it (``None``: any)."""
    target: str = ""
    """What it needs besides the request: ``department``, ``departments``, ``above``, ``below`` or nothing."""
    note: bool = False
    """Whether it needs a note."""


RULES: dict[str, Rule] = {
    rule.action: rule
    for rule in (
        Rule("claim", "take the request up: it is yours, and answered", summoned="claim its part"),
        Rule("release", "let go of a request claimed", summoned="let go of its part"),
        Rule("settle", "settle it here, saying how", summoned="report its part done", note=True),
        Rule("pass", "pass it to the department that deals with it", target="department"),
        Rule(
            "whistle",
            "summon one or more departments at once",
            levels=OFFICE_LEVELS,
            target="departments",
        ),
        Rule("escalate", "send it up to a post above", target="above"),
        Rule(
            "return",
            "return it to a post directly below (a department: back to the office, for study)",
            summoned="hand its part back to the office",
            target="below",
        ),
        Rule("note", "add a note to its history", summoned="add a note", note=True),
        Rule("undo", "take back your last settle, within 10 s", summoned="take back its report"),
    )
}
ACTIONS = tuple(RULES)


@dataclass(frozen=True)
class Target:
    """A post an action would send the request to, as the one judging it knows it."""

    node: str
    level: str = ""
    """Its level (``department``, ``street``, ...); ``""`` if there is no such post."""
    above: bool = False
    """It is above the post the request is at."""
    below: bool = False
    """It is directly below the post the request is at."""


@dataclass(frozen=True)
class Case:
    """An action about to be taken: by whom, at which post, on a request in which state.

    ``note`` and ``targets`` left ``None`` are not judged (the console asks for them after the key is
    pressed; the simulation leaves notes to the store)."""

    number: int
    """The request's number, as the person acting knows it."""
    status: str
    """``open``, ``claimed``, ``away`` or ``closed``."""
    at: str
    """The post the request is at."""
    at_level: str
    account: str
    post: str
    """The post acting."""
    level: str
    """The acting post's level."""
    relation: str
    role: str = "operator"
    claimed_by: str | None = None
    with_: str = ""
    """Where an away request is."""
    outcome: str | None = None
    part_by: str | None = None
    """A summoned department's part: who took it up, if anyone."""
    settled_by: str | None = None
    """Who settled the request, if the last thing done to it was a settle."""
    settled_ago_s: float = 0.0
    note: str | None = None
    targets: tuple[Target, ...] | None = None
    departments: tuple[str, ...] = ()
    """The district's departments (named when a pass or whistle names none of them)."""
    below: tuple[str, ...] = ()
    """Posts directly below the request's post (named when a return names none of them)."""
    whistle_in_use: bool = True


# --- the words ----------------------------------------------------------------------------------------


def unknown_action(action: str) -> str:
    return f"unknown action '{action}' (known: {', '.join(ACTIONS)})"


def outside(number: int, at: str, post: str) -> str:
    return f"request #{number} is at {at}, outside {post}'s jurisdiction"


def no_request(number: int) -> str:
    return f"no request #{number}"


def queue_command(words: str, db: str | PathLike[str] | None) -> str:
    """A ``microgov queue`` command line a message tells its reader to run, whole: with ``--db`` when
    the store is known, so that copying it acts on the same store."""
    store = f" --db {shlex.quote(os.fspath(db))}" if db is not None else ""
    return f"microgov queue {words}{store}"


def no_grant(account: str, post: str, db: str | PathLike[str] | None = None) -> str:
    grant = queue_command(f"grant {account} --post {shlex.quote(post)}", db)
    return f"{account} holds no grant covering {post} (an admin gives one with: {grant})"


def admins_only(what: str, account: str, role: str | None) -> str:
    held = f"{account} is {role}" if role else f"{account} holds no grant here"
    return f"{ADMIN_ONLY.get(what, what)} is for admins; {held}"


def in_training_shift(number: int, shift: int) -> str:
    return f"request #{number} is in training shift {shift}: only its simulation can carry out actions on it"


# --- the rules ----------------------------------------------------------------------------------------


def refusal(action: str, case: Case) -> str:
    """Why ``action`` cannot be taken in ``case``, or ``""`` if it can."""
    rule = RULES.get(action)
    if rule is None:
        return unknown_action(action)
    if case.relation == OUTSIDE:
        return outside(case.number, case.at, case.post)
    if case.status == "closed" and action not in ("note", "undo"):
        closed = f" ({case.outcome})" if case.outcome else ""
        return f"request #{case.number} is closed already{closed}"
    if case.relation == SUMMONED:
        return _summoned(rule, case)
    return _jurisdiction(rule, case)


def allowed(action: str, case: Case) -> bool:
    """Can ``action`` be offered in ``case`` (its note and targets asked for afterwards)?"""
    return not refusal(action, case)


def _summoned(rule: Rule, c: Case) -> str:
    if not rule.summoned:
        may = [
            a if a not in ("settle", "return") else f"{a} ({RULES[a].summoned})" for a in ACTIONS if RULES[a].summoned
        ]
        return (
            f"{c.post} was summoned to request #{c.number}: a summoned department may only "
            f"{', '.join(may[:-1])} or {may[-1]}; not {rule.action}"
        )
    part = f"{c.post}'s part of request #{c.number}"
    if rule.action == "claim" and c.part_by is not None:
        return f"{part} is taken up by {c.part_by} already"
    if rule.action == "release" and c.part_by != c.account and not (c.part_by and c.role in SUPERVISING):
        return f"{part} is not taken up by {c.account}"
    if rule.action in ("settle", "return") and c.part_by not in (None, c.account):
        return f"{part} is taken up by {c.part_by}"
    if rule.action == "return" and c.targets and c.targets[0].node != c.at:
        return f"{part} goes back to {c.at}, which summoned it; a summoned department returns nothing elsewhere"
    if rule.action == "settle" and c.note is not None and not c.note.strip():
        return f"reporting {part} done needs a note saying what was done"
    return _common(rule, c)


def _jurisdiction(rule: Rule, c: Case) -> str:
    action, n = rule.action, c.number
    if action == "claim" and c.status != "open":
        owner = f" by {c.claimed_by}" if c.claimed_by else ""
        return f"request #{n} cannot be claimed: it is {c.status}{owner}"
    if action == "release" and (c.status != "claimed" or (c.claimed_by != c.account and c.role not in SUPERVISING)):
        return f"request #{n} is not claimed by {c.account}"
    if action in ("settle", "pass", "whistle", "escalate", "return"):
        if c.status == "away":
            return f"request #{n} is with {c.with_ or c.at}, not in a queue"
        if c.status == "claimed" and c.claimed_by != c.account:
            return f"request #{n} is claimed by {c.claimed_by}"
    if rule.levels is not None and c.level not in rule.levels:
        return "only a street or town office can blow the whistle"
    if action == "whistle" and not c.whistle_in_use:
        return "the whistle is not in use in this scenario"
    if action == "settle" and c.note is not None and not c.note.strip():
        return "settling needs a note saying how it was settled"
    if action == "escalate" and c.at_level in ("department", "district"):
        return _nothing_above(c)
    return _targets(rule, c) or _common(rule, c)


def _nothing_above(c: Case) -> str:
    return f"request #{c.number} is at {c.at}: there is no post above to escalate to"


def _targets(rule: Rule, c: Case) -> str:
    targets = c.targets
    if targets is None or not rule.target:
        return ""
    departments = ", ".join(c.departments) or "none loaded"
    if rule.target == "department" and (len(targets) != 1 or targets[0].level != "department"):
        return f"pass needs one department (one of: {departments})"
    if rule.target == "departments" and (not targets or any(t.level != "department" for t in targets)):
        return f"the whistle summons one or more departments (of: {departments})"
    if rule.target == "above":
        if len(targets) != 1:
            return _nothing_above(c)
        if not targets[0].above:
            return f"escalate goes up: '{targets[0].node}' is not above {c.at}"
        if not targets[0].level:
            return f"no post '{targets[0].node}' in the district"
    if rule.target == "below" and c.at_level != "department" and (len(targets) != 1 or not targets[0].below):
        examples = f" (e.g. {', '.join(c.below)})" if c.below else ""
        return f"return needs a post directly below {c.at}{examples}"
    return ""


def _common(rule: Rule, c: Case) -> str:
    if rule.action == "note" and c.note is not None and not c.note.strip():
        return "a note needs text"
    if rule.action == "undo":
        if c.settled_by is None or c.settled_by != c.account:
            return f"nothing of yours to undo on request #{c.number} (undo takes back your last settle)"
        if c.settled_ago_s > UNDO_WINDOW_S:
            return (
                f"too late to undo: the settle was {c.settled_ago_s:.0f} s ago (undo works for {UNDO_WINDOW_S:.0f} s)"
            )
    return ""
