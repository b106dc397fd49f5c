"""The PySide6 desktop app. All work it starts lives in the headless packages."""
