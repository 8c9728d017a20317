"""The rotaplan configurator (Streamlit): pages over the rotaplan package."""

from pathlib import Path


def app_path() -> Path:
    """The Streamlit script to run (``streamlit run`` it, or ``rotaplan ui``)."""
    return Path(__file__).resolve().parent / "app.py"
