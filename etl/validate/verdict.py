"""What the portal rules say about one listing."""

from __future__ import annotations

from dataclasses import dataclass, field

from etl.issues import Issue


# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__ per field,
# which triples its cost, and one is built per listing.
@dataclass(slots=True)
class Verdict:
    """``accepted``: the listing goes out; ``portals``: where (requested ∩ contract ∩ eligible,
    in spec order; empty when rejected); ``issues``: errors (why it is rejected) and warnings
    (a portal dropped, with the reason, while the listing is published elsewhere);
    ``requested``: the portals asked for after the agency defaults were applied.
    """

    accepted: bool
    portals: list[str]
    issues: list[Issue]
    requested: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]
