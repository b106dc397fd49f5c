"""What the *People* panel shows, headless: the proposed people, a person's picture, a person's members.

The panel (``app.gui.people_panel``) calls these and only renders what comes back; the operator's
edits (accept, split, merge) are in ``app.pipeline.people``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reid_core.store.proposals import ProposalSummary
from reid_core.workspace import TrackletRow, Workspace


def people_rows(workspace: Workspace) -> list[ProposalSummary]:
    """Every proposed person with counts, cameras and time span, by id."""
    return workspace.proposal_summaries()


def person_picture(workspace: Workspace, proposal_id: int) -> bytes | None:
    """The thumbnail JPEG of the person's most confident member (the lower id on a tie); None: no member
    or no crop."""
    members = workspace.proposal_members(proposal_id)
    if not members:
        return None
    return workspace.thumbnail(max(members, key=lambda t: (members[t], -t)))


@dataclass(frozen=True)
class PersonMember:
    """One member tracklet of a person as the member table shows it."""

    tracklet: TrackletRow
    confidence: float  # how sure the grouping is that it belongs
    thumbnail: bytes | None = field(repr=False)

    def cells(self) -> tuple[str, str, str, str]:
        """The text of columns 1… (tracklet, camera, time span in seconds, confidence)."""
        t = self.tracklet
        return str(t.id), t.camera, f"{t.start_time:.1f}–{t.end_time:.1f}", f"{self.confidence:.2f}"


def person_members(workspace: Workspace, proposal_id: int) -> list[PersonMember]:
    """The person's member tracklets, most doubtful first (then by id), each with its thumbnail."""
    confidence = workspace.proposal_members(proposal_id)
    rows = workspace.tracklets_by_id(confidence)
    order = sorted(confidence, key=lambda t: (confidence[t], t))
    return [PersonMember(rows[t], confidence[t], workspace.thumbnail(t)) for t in order if t in rows]
