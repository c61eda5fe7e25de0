"""Shared test settings: quiet progress bars, a private checkpoint cache, a fixed thread count."""
import os

os.environ.setdefault("LABKIT_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
