"""Assignments answered by the assignee: confirmed or rejected by a signed link, a reply by
mail or the console; a rejection returns the ticket to the queue and tells the assigner."""
