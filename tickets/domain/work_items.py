"""Polish names of Azure DevOps work-item states, for mail (the UI has its catalogues).

The states of the stock processes (Basic, Agile, Scrum, CMMI); a desk's own state keeps its
name, since nothing better is known of it.
"""

from __future__ import annotations

from typing import Final

WORK_ITEM_STATES_PL: Final = {
    "New": "Nowy",
    "Active": "W toku",
    "Resolved": "Rozwiązany",
    "Closed": "Zamknięty",
    "Removed": "Usunięty",
    "Approved": "Zatwierdzony",
    "Committed": "Przyjęty do pracy",
    "Done": "Gotowy",
    "To Do": "Do zrobienia",
    "Doing": "W toku",
    "Proposed": "Zaproponowany",
}


def work_item_state_pl(state: str) -> str:
    """The Polish name of a work-item state, or the state itself when it is not a stock one."""
    return WORK_ITEM_STATES_PL.get(state, state)
