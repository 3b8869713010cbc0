"""Telephony: user statuses and extensions, PBX call events and screen pops, routing look-ups,
call-log (CDR) import and the call-back list."""
