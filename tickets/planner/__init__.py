"""Service schedules, operators' calendars, appointments and the to-do list (issue 19)."""
