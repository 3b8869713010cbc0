"""The consultant's working day: ticket lists, the client card, replies and notes."""
