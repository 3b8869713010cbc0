"""Campaigns (departments) → projects (internal or external, on a module aligned with Azure
DevOps) → their tasks and events (`tickets.project_id`)."""
