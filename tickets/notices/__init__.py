"""Notification rules and in-app notices: who is told at which event (created, assigned,
state → X, reply, handoff returned, consultation) by which channel (a notice in the console,
an e-mail); the signed opt-out link of automatic mail; consulting the second line."""
