"""Undo and redo for the operator's label changes: verdicts, merges, renames.

Each change is wrapped by ``ReviewHistory.record``: the label tables are read before it (they
hold only what the operator decided, so a snapshot is small) and undo puts them back exactly,
whatever the change did to identities (a confirmation can create one or merge two). Undo and
redo are themselves written to the verdict history, which is never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from reid_core.workspace import Workspace, WorkspaceError

T = TypeVar("T")
Snapshot = dict[str, list[tuple]]


@dataclass
class Step:
    description: str
    before: Snapshot
    after: Snapshot

    def pair(self) -> dict[str, int | None]:
        """The (query, candidate) the step changed, for the history's undo/redo rows (a merge: one member)."""
        verdicts = set(self.before["matches"]) ^ set(self.after["matches"])
        if verdicts:
            row = min(verdicts)  # columns: id, query, candidate, ...
            return {"query_tracklet_id": row[1], "match_tracklet_id": row[2]}
        members = set(self.before["identity_tracklets"]) ^ set(self.after["identity_tracklets"])
        return {"query_tracklet_id": None, "match_tracklet_id": min(members)[1] if members else None}


@dataclass
class ReviewHistory:
    undo_steps: list[Step] = field(default_factory=list)
    redo_steps: list[Step] = field(default_factory=list)

    def record(self, workspace: Workspace, description: str, change: Callable[[], T]) -> T:
        """Run ``change`` (which writes labels) as one undoable step."""
        before = workspace.label_snapshot()
        result = change()
        self.undo_steps.append(Step(description, before, workspace.label_snapshot()))
        self.redo_steps.clear()
        return result

    def undo(self, workspace: Workspace) -> str | None:
        """Put the labels back as they were before the last step; returns its description (None: nothing to undo)."""
        if not self.undo_steps:
            return None
        step = self.undo_steps[-1]
        with workspace.label_transaction():
            self._check_unchanged(workspace, step.after)
            workspace.restore_labels(step.before)
            workspace.log_label_event("undo", note=step.description, **step.pair())
        self.undo_steps.pop()
        self.redo_steps.append(step)
        return step.description

    def redo(self, workspace: Workspace) -> str | None:
        if not self.redo_steps:
            return None
        step = self.redo_steps[-1]
        with workspace.label_transaction():
            self._check_unchanged(workspace, step.before)
            workspace.restore_labels(step.after)
            workspace.log_label_event("redo", note=step.description, **step.pair())
        self.redo_steps.pop()
        self.undo_steps.append(step)
        return step.description

    def _check_unchanged(self, workspace: Workspace, expected: Snapshot) -> None:
        """Refuse to undo over labels written by someone else since (another window, the CLI, another
        analyst); inside the undo's label transaction, so no one writes in between."""
        if workspace.label_snapshot() != expected:
            self.clear()
            raise WorkspaceError(f"{workspace.path}: labels were changed outside this window; undo history cleared")

    def clear(self) -> None:
        self.undo_steps.clear()
        self.redo_steps.clear()
