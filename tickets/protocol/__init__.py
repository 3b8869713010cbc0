"""The ticket protocol (protokół zadania): a printable PDF of one ticket, rendered by
WeasyPrint from an HTML template with an embedded font that has the Polish letters."""
