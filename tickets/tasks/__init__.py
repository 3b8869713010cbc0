"""Work on a task: the category dictionary, checklists, deadlines, parents and children."""
