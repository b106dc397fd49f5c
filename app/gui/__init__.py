"""The PySide6 desktop app. All work it starts lives in the headless packages."""

import os

import cv2  # noqa: F401  (imported first on purpose: its import sets the variable undone below)

# opencv-python points Qt at the plugins it bundles for its own HighGUI windows; those do not
# match PySide6's Qt and stop the app from starting on a real screen (xcb). Undo that here.
if "cv2" in os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", ""):
    del os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"]
