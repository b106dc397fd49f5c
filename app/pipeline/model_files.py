"""Where this machine has a registered model's checkpoint.

A model is registered in the workspace by its content digest, with the path of the machine that
made it. On a shared PostgreSQL case another analyst's machine has no such path: there the file is
looked for under the same name in this machine's models folder (``workspace.folder / "models"``,
the local cache of the case), and a model whose file is in neither place is refused in one line
that says where to copy it.
"""

from __future__ import annotations

from pathlib import Path

from reid_core.errors import UserError
from reid_core.workspace import Workspace


def local_model_path(workspace: Workspace, model: dict) -> Path:
    """Where this machine keeps the file of a model another machine registered: its models folder."""
    return workspace.folder / "models" / Path(model["path"]).name


def model_file(workspace: Workspace, model: dict) -> Path | None:
    """The model's checkpoint on this machine (its registered path, else ``local_model_path``), if any."""
    for path in (Path(model["path"]), local_model_path(workspace, model)):
        if path.is_file():
            return path
    return None


def require_model_file(workspace: Workspace, model: dict) -> Path:
    """``model_file``, or the one-line refusal naming where the file should be copied."""
    found = model_file(workspace, model)
    if found is None:
        local = local_model_path(workspace, model)
        raise UserError(
            f"{local}: model {model['name']} is registered in this case but its file is not on this machine "
            f"(copy it to {local})"
        )
    return found


def registered_model(workspace: Workspace, given: str | Path) -> dict | None:
    """The registered model ``given`` names: its id, its name, its file's name without ``.pt``, or its path."""
    text = str(given)
    for model in reversed(workspace.models()):  # the newest first
        path = Path(model["path"])
        if text in (model["id"], model["name"], path.stem, str(path)):
            return model
    return None


def checkpoint_to_embed(workspace: Workspace, given: Path) -> Path:
    """What ``reid embed --model`` means: a checkpoint file, or a model registered in the workspace
    (refused in one line when its file is not on this machine)."""
    if given.exists():
        return given
    model = registered_model(workspace, given)
    if model is None:
        return given  # reading it names the missing file
    return require_model_file(workspace, model)
