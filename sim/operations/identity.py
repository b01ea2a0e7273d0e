"""Who is acting: the operating system's account of the process, never a name someone typed.

A queue store holds what operators did and is held against them, so the name in its log is the account
the operating system runs the process as (its real user id), not a flag or an environment variable
(``LOGNAME=mayor`` changes nothing). The library takes the account as an argument, so a test can play
several accounts without creating them; the ``microgov`` command and the console always pass this one.
"""

from __future__ import annotations

import os
import pwd

from sim.errors import MicrogovError


class IdentityError(MicrogovError):
    """The process runs as a user id the system has no account for."""


def current_account() -> str:
    """The login name of the process's real user (``pwd.getpwuid(os.getuid())``)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        raise IdentityError(f"user id {os.getuid()} has no account on this system; microgov acts only as one") from None


def full_name(account: str) -> str:
    """The account's name as the system has it (the first part of its GECOS field), or the account."""
    try:
        gecos = pwd.getpwnam(account).pw_gecos
    except KeyError:
        return account
    return gecos.split(",", 1)[0].strip() or account
