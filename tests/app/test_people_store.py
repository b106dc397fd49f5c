"""Proposals in a real workspace file: the migration, the operator's edits, learned transits, `reid people`."""

from __future__ import annotations

import csv
import json
import sqlite3
from contextlib import closing
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.pipeline.case_export import export_case
from app.pipeline.identities import confirm_match, identities
from app.pipeline.people import (
    accept_proposal,
    grouping_input,
    learned_transits,
    merge_proposals,
    propose_people,
    split_off,
)
from app.pipeline.people_grouping import GroupingOptions
from reid_core.store.schema import PEOPLE_TABLES
from reid_core.workspace import DB_NAME, SCHEMA_VERSION, Workspace
from tests.app.people_fixture import vtest_halves_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    vtest_halves_workspace(folder)
    return folder


def test_a_version_1_workspace_is_migrated_and_keeps_its_rows(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        confirm_match(ws, 1, 2)
        tracklets = ws.tracklet_count()
    with closing(sqlite3.connect(workspace / DB_NAME)) as db:  # as a workspace made before schema 2
        for table in PEOPLE_TABLES:
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        db.commit()
    with Workspace(workspace) as ws:
        assert ws.get_meta("schema_version") == str(SCHEMA_VERSION) == "2"
        assert set(PEOPLE_TABLES) <= set(ws.db.table_names())
        assert ws.tracklet_count() == tracklets and len(identities(ws)) == 1
        assert propose_people(ws).people > 1


def test_split_merge_and_accept_change_the_stored_proposals(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        propose_people(ws)
        groups = ws.proposal_groups()
        big, other = sorted(groups, key=lambda p: -len(groups[p]))[:2]
        odd = min(ws.proposal_members(big).items(), key=lambda kv: (kv[1], kv[0]))[0]  # most doubtful member
        alone = split_off(ws, big, odd)
        assert ws.proposal_groups()[alone] == [odd] and odd not in ws.proposal_groups()[big]
        assert len(ws.proposal_groups()) == len(groups) + 1
        assert ws.verdict_pairs("rejected")  # the split is remembered as "not the same person"

        merge_proposals(ws, big, other)
        assert sorted(ws.proposal_groups()[big]) == sorted(set(groups[big]) - {odd} | set(groups[other]))
        assert other not in ws.proposal_groups()

        identity = accept_proposal(ws, big)
        members = ws.proposal_groups()[big]
        assert sorted(ws.identity_members(identity)) == sorted(members)
        assert next(p for p in ws.proposal_summaries() if p.id == big).identity_id == identity

        propose_people(ws)  # a new run keeps the labels: the identity stays one person, the split-off apart
        again = ws.proposal_groups()
        holding = next(p for p, m in again.items() if members[0] in m)
        assert set(members) <= set(again[holding]) and odd not in again[holding]
        assert next(p for p in ws.proposal_summaries() if p.id == holding).identity_id == identity


def test_transit_times_are_learned_from_confirmed_people(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        rows = ws.tracklets()
        left = [t for t in rows if t.camera == "plaza-left"]
        right = [t for t in rows if t.camera == "plaza-right"]
        pairs = [(left[0], next(b for b in right if b.start_time - left[0].end_time > 5))]
        pairs.append(
            next((a, b) for a in left[1:] for b in right if b.start_time - a.end_time > 5 and b != pairs[0][1])
        )
        for a, b in pairs:  # two people, each seen in the left camera, then in the right one
            confirm_match(ws, a.id, b.id)
        shortest = min(b.start_time - a.end_time for a, b in pairs)
        pair = tuple(sorted((left[0].camera_id, right[0].camera_id)))
        assert learned_transits(ws) == {pair: pytest.approx(shortest)}
        _, data = grouping_input(ws, ws.newest_embedded_model() or "", GroupingOptions(transit_margin=0.5))
        assert data.min_transit[0, 1] == data.min_transit[1, 0] == pytest.approx(shortest / 2)


def test_reid_people_prints_people_routes_and_one_line_errors(workspace: Path, capsys, tmp_path: Path) -> None:
    assert main(["people", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "proposed people from 60 tracklets" in out and "plaza-left" in out
    assert main(["people", str(workspace), "--list", "--json"]) == 0
    people = json.loads(capsys.readouterr().out)
    assert sum(p["tracklets"] for p in people) == 60
    crossing = next(p for p in people if len(p["cameras"]) == 2)
    stops = crossing["stops"]
    assert [s["start_s"] for s in stops] == sorted(s["start_s"] for s in stops)
    assert all(a["camera"] != b["camera"] for a, b in pairwise(stops))  # one stop per visit
    assert main(["people", str(workspace), "--route", str(crossing["id"])]) == 0
    assert json.loads(capsys.readouterr().out)["stops"] == stops

    assert main(["people", str(workspace), "--views-overlap", "plaza-left", "plaza-right", "--list"]) == 0
    with Workspace(workspace) as ws:
        assert len(ws.overlapping_camera_pairs()) == 1
    capsys.readouterr()
    for args, message in [
        (["--views-overlap", "plaza-left", "roof"], "no camera named 'roof'"),
        (["--route", "999"], "no proposed person 999"),
    ]:
        assert main(["people", str(workspace), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err
    with pytest.raises(SystemExit) as exited:  # argparse's own check, in the same one-line form
        main(["people", str(workspace), "--threshold", "1.5"])
    assert exited.value.code == 2 and "between -1 and 1" in capsys.readouterr().err
    Workspace(tmp_path / "empty").close()
    assert main(["people", str(tmp_path / "empty")]) == 2
    assert "no embeddings yet" in capsys.readouterr().err


def test_the_case_export_holds_the_route(workspace: Path, tmp_path: Path) -> None:
    with Workspace(workspace) as ws:
        propose_people(ws)
        groups = ws.proposal_groups()
        crossing = next(p for p in ws.proposal_summaries() if len(p.cameras) == 2 and p.tracklets >= 3)
        identity = accept_proposal(ws, crossing.id)
        files = export_case(ws, identity, tmp_path / "case")
    route_csv = files.csv.with_name(files.csv.stem + "_route.csv")
    with open(route_csv) as handle:
        stops = list(csv.DictReader(handle))
    members = sorted(t for s in stops for t in map(int, s["tracklets"].split()))
    assert members == sorted(groups[crossing.id]) and {s["camera"] for s in stops} == set(crossing.cameras)
    assert np.all(np.diff([float(s["start_s"]) for s in stops]) >= 0)
    report = files.html.read_text()
    assert "<h2>Route</h2>" in report and report.count("data:image/jpeg") > len(stops)


def test_camera_names_with_commas_and_quotes_stay_whole(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        ws.db.execute("UPDATE cameras SET name = ? WHERE name = 'plaza-left'", ['gate, "north"'])
        propose_people(ws)
        cameras = {c for p in ws.proposal_summaries() for c in p.cameras}
    assert cameras == {'gate, "north"', "plaza-right"}
