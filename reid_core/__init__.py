"""Re-ID model, workspace and search. Importing it first switches every library's network access off."""

from reid_core import airgap as airgap
