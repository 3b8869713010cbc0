from tickets.adapters.db import Database
from tickets.schemas import SYSTEM, TicketCreate
from tickets.services import create_ticket


def test_create_numbers(db: Database) -> None:
    with db.transaction() as s:
        a = create_ticket(s, SYSTEM, TicketCreate(title="Błąd faktury"))
        b = create_ticket(s, SYSTEM, TicketCreate(title="Drugi"))
    assert a.number.endswith("/1") and b.number.endswith("/2")
