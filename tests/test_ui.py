"""The Streamlit app: opens on the demo, solves, shows a verified plan."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")


def test_app_opens_on_demo_and_solves() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert "30 learners" in at.markdown[0].value
    at.button[0].click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Status"] == "OPTIMAL"
    assert metrics["Placed"] == "30/30"
    learner = next(s for s in at.selectbox if s.label == "Learner")
    learner.select(learner.options[3]).run()  # the plan survives the rerun
    assert {m.label for m in at.metric} >= {"Status", "Objective"}
