"""The console's modes, in the order of their number keys: defined here once, for the command line,
the app and the mode bar of every screen."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from console.session import Session

MODES = ("operate", "train", "replay", "compare", "structure")


@runtime_checkable
class Host(Protocol):
    """What a mode's screen needs of the app that shows it: the session (scenario, store, words) and
    whether the cursor blinks (off in snapshots). Screens depend on this, never on the app itself."""

    session: Session
    cursor_blink: bool
