"""The app ↔ worker protocol (issue 15 item 1): every argv the window builds parses with the real
``reid`` parser into the values it meant, and every event kind survives its line both ways."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import fields, replace
from pathlib import Path

import pytest

from app.cli import build_parser
from app.pipeline.commands import embed_args, finetune_args, ingest_args, people_args
from app.pipeline.events import (
    EVENT_TYPES,
    EVENTS_FLAG,
    PREFIX,
    AdaptProgress,
    ModelReady,
    StepProgress,
    TrainProgress,
    VideoOutcome,
    adapt_progress,
    emit,
    event_line,
    parse_event,
    train_progress,
)
from app.pipeline.people_grouping import GroupingOptions
from app.pipeline.settings import AppSettings

SETTINGS = AppSettings(detector="/models/yolo.onnx", checkpoint="/models/reid.pt", device="cpu", frame_stride=3)


def parsed(argv: list[str]):
    """The namespace the child process will see (the queue adds --events)."""
    return build_parser(argv).parse_args([*argv, EVENTS_FLAG])


def test_every_built_argv_parses_with_the_real_parser_into_what_it_meant(tmp_path: Path) -> None:
    ingest = parsed(ingest_args(tmp_path, tmp_path / "a b.avi", "north gate", 1700000000.5, SETTINGS))
    assert (ingest.command, ingest.videos, ingest.camera) == ("ingest", [tmp_path / "a b.avi"], "north gate")
    assert (ingest.start_time, ingest.stride, ingest.detector, ingest.events) == (
        1700000000.5, 3, "/models/yolo.onnx", True
    )  # fmt: skip
    assert Path(str(ingest.workspace)) == tmp_path

    embed = parsed(embed_args(tmp_path, Path("/models/other.pt"), SETTINGS))
    assert (embed.command, embed.model, embed.device, embed.events) == ("embed", Path("/models/other.pt"), "cpu", True)

    assert (ingest.cluster, embed.cluster) == (None, None)  # no cluster set: run on this machine
    on_ray = replace(SETTINGS, cluster="auto")
    url = "postgresql://analyst@dbhost:5432/case7"
    ingest = parsed(ingest_args(url, tmp_path / "a.avi", "north", 0.0, on_ray))
    embed = parsed(embed_args(url, Path("/models/other.pt"), on_ray))
    assert (ingest.workspace, ingest.cluster, embed.workspace, embed.cluster) == (url, "auto", url, "auto")
    assert (ingest.videos, embed.model) == ([tmp_path / "a.avi"], Path("/models/other.pt"))

    finetune = parsed(finetune_args(tmp_path, 7, SETTINGS, ["--set", "lr=0.001"]))
    assert (finetune.command, finetune.workspace, finetune.epochs) == ("finetune", tmp_path, 7)
    assert (finetune.device, finetune.embed, finetune.set, finetune.events) == ("cpu", True, ["lr=0.001"], True)

    people = parsed(people_args(tmp_path, GroupingOptions(threshold=0.75, handover_s=2.5, time_constraints=False)))
    assert (people.command, people.workspace, people.events) == ("people", tmp_path, True)
    assert (people.threshold, people.handover, people.no_time_constraints) == (0.75, 2.5, True)
    assert parsed(people_args(tmp_path, GroupingOptions())).no_time_constraints is False


def test_a_bad_setting_is_refused_by_the_parser_not_passed_on(tmp_path: Path) -> None:
    """The test above would catch a renamed option: this shows the parser really checks what it gets."""
    with pytest.raises(SystemExit):
        parsed(embed_args(tmp_path, Path("m.pt"), AppSettings(device="tpu")))


EXAMPLES = [
    StepProgress("ingest", 40, 120, video="/videos/north.avi"),
    StepProgress("embed", 3, 9),
    StepProgress("people", 0, 0),
    TrainProgress(epoch=2, epochs=3, iteration=5, iterations=20, loss=1.25, loss_terms={"ce": 0.5, "video": 0.75}),
    AdaptProgress(epoch=1, epochs=4, self_check=0.625),
    VideoOutcome("/videos/x.avi", "failed", "east", 0, error="x.avi: not a video"),
    VideoOutcome("/videos/y.avi", "ingested", "east", 12),
    ModelReady(checkpoint="/ws/models/finetune.pt", model_id="abc123"),
    ModelReady(checkpoint=None, model_id=None, refused="self-check dropped"),
]


def test_every_event_kind_round_trips_through_its_line() -> None:
    assert {e.kind for e in EXAMPLES} == set(EVENT_TYPES) == {"progress", "train", "adapt", "video", "done"}
    out = io.StringIO()
    with redirect_stdout(out):
        for event in EXAMPLES:
            emit(event)
    lines = out.getvalue().splitlines()
    assert [parse_event(line) for line in lines] == EXAMPLES
    for line, event in zip(lines, EXAMPLES, strict=True):
        assert line.startswith(PREFIX) and f'"kind": "{event.kind}"' in line


def test_no_key_means_two_things_across_kinds() -> None:
    """The old protocol's "total" was a count in one event and a loss in another: each key now has one type."""
    types: dict[str, set[str]] = {}
    for cls in EVENT_TYPES.values():
        for f in fields(cls):
            if f.name != "kind":  # one Literal per class, by design
                types.setdefault(f.name, set()).add(str(f.type).removesuffix(" | None"))
    assert {name: t for name, t in types.items() if len(t) > 1} == {}
    assert "total" not in types


def test_other_output_and_broken_lines_are_not_events() -> None:
    good = event_line(StepProgress("embed", 1, 2))
    for line in ["", "error: x.avi: not a video", "@event not json", '@event ["progress"]',
                 '@event {"kind": "nonsense"}', '@event {"kind": "progress", "stage": "embed"}',
                 good.replace('"steps"', '"total"'), good[1:]]:  # fmt: skip
        assert parse_event(line) is None, line
    assert parse_event(good) == StepProgress("embed", 1, 2)


def test_progress_counts_for_the_bars() -> None:
    assert StepProgress("ingest", 40, 120).counts() == (40, 120)
    assert StepProgress("people", 0, 0).counts() == (0, 1)  # an empty run still draws a bar
    # iterations over all epochs: epoch 2's 5th of 20 is the 25th of 60
    assert TrainProgress(epoch=2, epochs=3, iteration=5, iterations=20, loss=1.0).counts() == (25, 60)
    assert AdaptProgress(epoch=1, epochs=4, self_check=0.5).counts() == (1, 4)


def test_training_steps_become_typed_events() -> None:
    step = {"epoch": 1, "epochs": 2, "iteration": 3, "iterations": 4, "total": 2.5, "ce": 1.0, "aux": 0.5,
            "video": 0.75, "part": 0.25}  # fmt: skip
    event = train_progress(step)
    assert (event.loss, event.loss_terms) == (2.5, {"ce": 1.0, "aux": 0.5, "video": 0.75, "part": 0.25})
    assert event.counts() == (3, 8)
    assert adapt_progress({"stage": "adapt", "epoch": 2, "epochs": 5, "check": 0.5}) == AdaptProgress(2, 5, 0.5)


def test_a_real_command_speaks_the_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``reid people --events`` on a small real workspace: its progress arrives as typed events, in order."""
    from app.cli import main
    from tests.app.people_fixture import vtest_halves_workspace

    vtest_halves_workspace(tmp_path / "ws")
    assert main([*people_args(tmp_path / "ws", GroupingOptions()), EVENTS_FLAG]) == 0
    events = [parse_event(line) for line in capsys.readouterr().out.splitlines()]
    progress = [e for e in events if e is not None]
    assert progress and all(isinstance(e, StepProgress) and e.stage == "people" for e in progress)
    done = [e.counts()[0] for e in progress]
    assert done == sorted(done) and progress[-1].counts()[0] == progress[-1].counts()[1]
