"""Node ids, read in one place.

A node's id spells its path from the district down, one segment per level (``S1/C2/G3/B4/U1``); a
queue at a post may carry a suffix after ``#`` naming whose queue it is (a departmental grid's
``S1/C2/G3#health``). Departments and the district have ids of one segment (``water``, ``district``).
Every module that needs a post, an office, a parent or a scope from an id asks here.
"""

from __future__ import annotations

DISTRICT = "district"


def post_of(node: str) -> str:
    """The post a node id names, without a queue's suffix (``S1/C2/G3#health`` → ``S1/C2/G3``)."""
    return node.split("#", 1)[0]


def office_of(node: str) -> str:
    """The street or town office a node belongs to (``S1/C2/G3#health`` → ``S1``), or the node itself
    for departments and the district."""
    return post_of(node).split("/", 1)[0]


def parent_of(node: str) -> str | None:
    """The node one level up the path (``S1/C2`` → ``S1``); ``None`` for a node of one segment."""
    post = post_of(node)
    return post.rsplit("/", 1)[0] if "/" in post else None


def in_scope(post: str, node: str) -> bool:
    """Is ``node`` inside ``post``'s jurisdiction (the post itself, or below it)? The district holds
    every node."""
    if post == DISTRICT:
        return True
    base = post_of(node)
    return base == post or base.startswith(post + "/")


def above(upper: str, node: str) -> bool:
    """Is ``upper`` strictly above ``node`` on its path (the district is above every other node)?"""
    base = post_of(node)
    return upper != base and (upper == DISTRICT or base.startswith(upper + "/"))


def child_towards(post: str, node: str) -> str | None:
    """The node one level below ``post`` on the way to ``node`` (``S1``, ``S1/C2/G3`` → ``S1/C2``), or
    ``None`` if ``node`` is not below ``post``."""
    base = post_of(node)
    if not base.startswith(post + "/"):
        return None
    return f"{post}/{base[len(post) + 1 :].split('/')[0]}"
