"""Exit codes, and the exceptions that stop a run (a record's problems are values: ``Issue``).

Modelled on httpx's ``_exceptions.py``: the tree, with the exit code each branch ends in::

    RunStopped                    the whole run (or this agency's part of it) cannot go on
    ├── ConfigError               exit 2: agencies.yaml, a mapping or an option is wrong
    │   ├── MappingError          a mapping refers to something that does not exist
    │   └── OutputDirError        the output folder cannot be written
    ├── SourceUnreadable          exit 4: the feed cannot be read (missing, damaged, unsafe)
    │   └── UnsupportedFeed       the feed is not in a format this configuration reads
    └── AuthError                 exit 1: the token endpoint refused the credentials

Exit 3 (a guard refused) and exit 5 (another run holds the agency's lock) are results, not exceptions.

Every message is French, meant for the operator, and never holds a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # some operations failed or stay uncertain; the next run resumes them
EXIT_USAGE: Final = 2  # configuration, mapping or command line
EXIT_GUARD: Final = 3  # a guard refused the run (mass delete, lock held): nothing was sent
EXIT_SOURCE: Final = 4  # a feed could not be read: nothing was sent for its agency
EXIT_LOCKED: Final = 5  # another run of the agency holds its lock: nothing was done (cron may simply retry)

# Which code a run of several agencies ends with: the gravest. A held lock is the mildest failure
# (nothing went wrong, the other run does the work), so any other failure outranks it.
_SEVERITY: Final = (EXIT_OK, EXIT_LOCKED, EXIT_FAILED, EXIT_USAGE, EXIT_GUARD, EXIT_SOURCE)


def worst_exit(codes: Iterable[int]) -> int:
    """The exit code of a run made of these agencies' codes (unknown codes rank above all)."""
    rank = {c: i for i, c in enumerate(_SEVERITY)}
    return max(codes, key=lambda c: rank.get(c, len(_SEVERITY)), default=EXIT_OK)


class RunStopped(Exception):
    """The run (or one agency's part of it) cannot go on; the message says why, in French."""


class ConfigError(RunStopped):
    """A configuration file is missing or invalid; the message is meant for the operator."""


class MappingError(ConfigError):
    """The mapping config refers to something that does not exist (run stops, exit 2)."""


class OutputDirError(ConfigError):
    """The output folder cannot be used (exit 2 with this message, never a traceback)."""


class SourceUnreadable(RunStopped):
    """The whole source cannot be read (missing file, bad archive…): the run must stop (exit 4)."""


class SourceMissing(SourceUnreadable):
    """Tonight's feed was not received (no file, nothing downloaded): not judged, only absent."""


class UnsupportedFeed(SourceUnreadable):
    """The source is readable but in no format this configuration reads, or not the one configured."""


class AuthError(RunStopped):
    """The token endpoint refused the credentials (permanent for this run)."""


def exit_code(exc: RunStopped) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, SourceUnreadable):
        return EXIT_SOURCE
    return EXIT_FAILED


def validation_problems(exc: Any, limit: int = 5) -> str:
    """A pydantic ``ValidationError`` on one line for a ``ConfigError``: « key : problem ; … »."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'source'} : {e['msg']}"
                     for e in exc.errors(include_url=False)[:limit])
