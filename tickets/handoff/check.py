"""`sedno devops check`: what a handoff would meet in the configured project, before go-live.

Read-only: it reads the project (credentials, process, the handoff type and its states, area
paths, users) and Sedno's module dictionary and mappings, and says what would fail. It writes
nothing, neither to Azure DevOps nor to Sedno's database.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlalchemy import select

from tickets.core.db import Database
from tickets.core.orm import UserRow
from tickets.handoff.azure_devops import (
    PRIORITY,
    REPRO_STEPS,
    AzureDevOpsClient,
    DevOpsFinal,
    DevOpsRetryable,
    ProjectInfo,
)
from tickets.handoff.orm import DevOpsModuleRow
from tickets.handoff.service import StateMapping, get_mapping, outbound_state

Level = Literal["ok", "warn", "fail"]


class CheckLine(msgspec.Struct, frozen=True):
    level: Level
    what: str
    detail: str


def check_devops(
    db: Database,
    client: AzureDevOpsClient,
    *,
    webhook_secret: str,
    public_url: str,
) -> list[CheckLine]:
    """Every check, in the order an admin would fix them."""
    lines = [
        CheckLine("ok" if len(webhook_secret) >= 16 else "fail", "webhook secret",
                  "set" if len(webhook_secret) >= 16 else
                  "SEDNO_DEVOPS_WEBHOOK_SECRET is empty or shorter than 16 characters"),
        CheckLine("ok" if public_url.startswith("https://") else "warn", "public URL",
                  public_url if public_url.startswith("https://") else
                  f"{public_url}: work items link to it; production users need HTTPS"),
    ]  # fmt: skip
    with db.read() as s:
        mapping = get_mapping(s)
    try:
        project = client.describe_project(mapping.work_item_type)
    except DevOpsRetryable as exc:
        return [*lines, CheckLine("fail", "connection", f"Azure DevOps does not answer: {exc}")]
    except DevOpsFinal as exc:
        hint = {401: "the token is wrong or expired", 203: "the token is wrong or expired",
                404: "no such project, or the token may not read it"}.get(exc.status, "")  # fmt: skip
        return [*lines, CheckLine("fail", "credentials", f"{exc} {hint}".strip())]
    lines.append(CheckLine("ok", "credentials", f"project {project.project} can be read"))
    lines += _process_lines(project, mapping)
    lines += _module_lines(db, client, project)
    lines.append(
        CheckLine(
            "warn",
            "tags",
            "every handoff adds a new tag sedno[NUMBER]: the account needs the project "
            "permission 'Create tag definition' (not checked: it cannot be read)",
        )
    )
    return lines


def _process_lines(project: ProjectInfo, mapping: StateMapping) -> list[CheckLine]:
    target = project.handoff_type
    states = ", ".join(f"{s.name} ({s.category})" for s in target.states)
    lines = [
        CheckLine("ok", "process", f"{project.process or 'unknown'}; handoffs create "
                  f"{target.name}: {states}"),
    ]  # fmt: skip
    if REPRO_STEPS not in target.fields:
        lines.append(CheckLine("warn", "fields", f"{target.name} has no repro steps: the "
                               "ticket text goes into the description only"))  # fmt: skip
    if PRIORITY not in target.fields:
        lines.append(CheckLine("warn", "fields", f"{target.name} has no priority field"))
    for rule in mapping.outbound:
        state = outbound_state(rule, target)
        where = f"outbound {rule.ticket_state}"
        if rule.work_item_state and target.state_named(rule.work_item_state) is None:
            lines.append(CheckLine("fail", where, f"{target.name} has no state "
                                   f"{rule.work_item_state!r}: the export would be refused"))  # fmt: skip
        elif rule.work_item_category and state is None:
            lines.append(CheckLine("warn", where, f"{target.name} has no state in category "
                                   f"{rule.work_item_category}: only the comment and tag go"))  # fmt: skip
        else:
            lines.append(CheckLine("ok", where, f"→ {state or 'comment and tag only'}"))
    for inbound in mapping.inbound:
        if inbound.work_item_state and target.state_named(inbound.work_item_state) is None:
            lines.append(CheckLine("warn", f"inbound {inbound.work_item_state}",
                                   f"{target.name} has no such state: the rule never fires"))  # fmt: skip
    return lines


def _module_lines(db: Database, client: AzureDevOpsClient, project: ProjectInfo) -> list[CheckLine]:
    with db.read() as s:
        rows = [
            (r.module, r.area_path, s.get(UserRow, r.second_line_id) if r.second_line_id else None)
            for r in s.scalars(select(DevOpsModuleRow).where(DevOpsModuleRow.active))
        ]
        emails = {module: p.email if p else None for module, _, p in rows}
    if not rows:
        return [CheckLine("fail", "modules", "the module dictionary is empty: no ticket can "
                          "be handed off (PUT /api/devops/modules)")]  # fmt: skip
    lines = []
    for module, area_path, _ in rows:
        where = f"module {module}"
        if project.area_named(area_path) is None:
            lines.append(CheckLine("fail", where, f"area path '{area_path}' does not exist "
                                   f"in {project.project}"))  # fmt: skip
            continue
        email = emails[module]
        detail = f"area '{area_path}'"
        if email:
            try:
                known = client.identity_exists(email)
            except (DevOpsRetryable, DevOpsFinal) as exc:
                lines.append(CheckLine("warn", where, f"{detail}; cannot look up users: {exc}"))
                continue
            if not known:
                lines.append(CheckLine("warn", where, f"{detail}; second line {email} is "
                                       "not a user of the organisation: items go unassigned"))  # fmt: skip
                continue
            detail += f", second line {email}"
        lines.append(CheckLine("ok", where, detail))
    return lines


def render(lines: list[CheckLine]) -> str:
    width = max(len(line.what) for line in lines)
    return "\n".join(
        f"{line.level.upper():4} {line.what:<{width}}  {line.detail}" for line in lines
    )
