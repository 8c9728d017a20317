"""Capacity and 'Why no plan?' pages: the insight tools in plain words."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rotaplan.analysis.capacity import RESOURCE_WORDS, headline
from rotaplan.models import Scenario
from rotaplan.models.edits import Newcomer, changed
from rotaplan.models.yaml_format import dump_scenario
from rotaplan.runs.jobs import CapacityJob, ExplainJob, solves
from rotaplan.solver.fixes import Change
from rotaplan.ui import state
from rotaplan.ui.state import ss


def capacity() -> None:
    """How many more learners fit, and what limits it."""
    check = state.validation()
    st.markdown("How many more learners could the programme take, and what stops it taking "
                "more? rotaplan adds identical newcomers and finds the most it can place "
                "while every rule holds, groups what is full by setting, and finds the fewest "
                "extra places, supervisor places or rooms that would let more in, each "
                "checked by re-solving.")
    if check.scenario is None:
        st.error("Fix the scenario's problems on the Scenario page first.")
        return
    sc = check.scenario
    cols = st.columns(4)
    mode = cols[0].radio("Newcomers", ["of a profession", "like an existing learner"],
                         key="cap_mode")
    if mode == "of a profession":
        profession = cols[1].selectbox("Profession", sc.professions, key="cap_profession")
        track = cols[2].selectbox("Track", ["rotation", "fellowship"], key="cap_track")
        newcomer = Newcomer(profession=profession, track=track, like=None)
    else:
        like = cols[1].selectbox("Like learner", [x.id for x in sc.learners], key="cap_like")
        newcomer = Newcomer(profession=None, track="rotation", like=like)
    seconds = cols[3].slider("Time limit (seconds)", 5, 300, 30, key="cap_seconds")
    probes = st.slider("Single bottlenecks to value one at a time", 0, 12, 0,
                       key="cap_probes", help="Each takes up to 10 seconds. The combined "
                       "changes above them usually answer the question better.")
    job: CapacityJob | None = ss().get("cap_job")
    busy = job is not None and job.running
    if st.button("Find capacity", type="primary", key="cap_run", disabled=busy) and not busy:
        if job is not None:
            job.remove_files()
        ss().cap_job = CapacityJob(sc, newcomer, time_limit=float(seconds),
                                   probes=int(probes), probe_seconds=10.0, workers=2, seed=0,
                                   slots=solves().slots)
        st.rerun()  # redraw with the button disabled while the question runs
    if busy:
        capacity_progress()
        return
    if job is not None:
        _capacity_answer(job, sc)


def _in_line(job: CapacityJob | ExplainJob, key: str) -> bool:
    """While a job waits for a free solver: its place in line and Cancel (True then)."""
    if not job.waiting:
        return False
    st.info(f"Waiting for a free solver: number {job.position or 1} in line (this "
            f"server runs at most {solves().slots.limit} at once).")
    if st.button("Cancel", key=key, disabled=job.cancelled,
                 help="Leave the line; nothing is computed."):
        job.cancel()
    return True


@st.fragment(run_every=0.5)
def capacity_progress() -> None:
    """Live notes of the running capacity question, with Cancel (redrawn every half second)."""
    job: CapacityJob | None = ss().get("cap_job")
    if job is None:
        return
    notes = job.poll()
    if _in_line(job, "cap_cancel"):
        return
    if not state.progress_bar(job, "Finding capacity", job.longest):
        return
    for note in notes:
        st.caption(state.plain(note))
    if st.button("Cancel", key="cap_cancel", disabled=job.cancelled,
                 help="Stop now and keep what has been proven so far."):
        job.cancel()


def _capacity_answer(job: CapacityJob, sc: Scenario) -> None:
    """The finished capacity question in plain words."""
    job.poll()
    if job.skipped:
        st.info("Cancelled while it waited for a free solver: nothing was computed.")
        return
    if job.error is not None:
        st.error(f"Cannot answer: {state.plain(job.error)}")
        return
    answer = job.answer
    if answer is None:
        return
    if job.scenario != sc:
        st.warning("This answer is for the scenario as it was before your latest edits: "
                   "press Find capacity again to bring it up to date.")
    words = headline(answer).replace("`rotaplan explain`", "the 'Why no plan?' page")
    (st.warning if answer.maximum.stopped else st.subheader)(state.plain(words))
    if answer.added_ids:
        st.caption("The plan for that maximum passed rotaplan's independent check. "
                   f"Added in it: {state.plain(', '.join(answer.added_ids))}.")
    if not answer.bottlenecks:
        if answer.maximum.count is not None and not answer.maximum.stopped:
            st.info("No resource at the sites they could use is full: the limit is elsewhere "
                    "(who may take them, working patterns, cover or site minimums).")
        return
    if answer.groups:
        st.markdown("**What limits growth** (full where newcomers could go, by setting)")
        st.dataframe(pd.DataFrame([
            {"Setting": g.setting, "Resource": RESOURCE_WORDS[g.rule],
             "Where": "; ".join(g.where), "In blocks": ", ".join(map(str, g.blocks))}
            for g in answer.groups]), hide_index=True, width="stretch")
    if answer.combined:
        st.markdown("**Cheapest changes that let more in** (each checked by re-solving)")
        for c in answer.combined:
            fewest = (" — the fewest extra units that could" if c.minimal
                      else " — found in the time; fewer units may do")
            st.markdown(f"- {state.plain(c.summary(answer.profession))}{fewest}")
    if all(item.gain is None for item in answer.bottlenecks):
        return
    rows = []
    for item in answer.bottlenecks:
        if item.gain is None:
            effect = "not tried"
        else:
            effect = f"{'' if item.exact else 'at least '}{item.gain} more"
        rows.append({"What is full": item.text, "Full in blocks": ", ".join(map(str, item.blocks)),
                     "One more unit": item.change, "Would let in": effect})
    st.markdown("**Single changes** (one more unit of one full resource, re-solved)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    tried = [b for b in answer.bottlenecks if b.gain is not None]
    if tried and all(b.gain == 0 for b in tried):
        st.info("No single one-unit change lets one more in: several limits bind together.")
    if job.cancelled:
        st.caption("Stopped on request: bottlenecks marked 'not tried' were not valued.")


def explanation() -> None:
    """Why the scenario has no plan, in a few lines by resource, and checked fixes to apply."""
    check = state.validation()
    st.markdown("When no plan satisfies every rule, rotaplan says what runs short, by site, "
                "setting, session and profession, in a few lines. Then it tries changes "
                "of those resources (more rooms, places or supervision, a leave cancelled, "
                "an opening), alone and together, and lists those that make a plan "
                "possible, each checked by a real solve.")
    if check.scenario is None:
        st.error("Fix the scenario's problems on the Scenario page first.")
        return
    sc = check.scenario
    applied = ss().get("why_applied")
    if applied:
        st.success(f"Applied: {state.plain(applied)}. Solve it on the Solve page, or press "
                   "Explain to check again.")
        ss().why_applied = None
    seconds = st.slider("Time limit (seconds)", 5, 120, 10, key="why_seconds")
    job: ExplainJob | None = ss().get("why_job")
    busy = job is not None and job.running
    if st.button("Explain", type="primary", key="why_run", disabled=busy) and not busy:
        ss().why_job = ExplainJob(sc, time_limit=float(seconds), slots=solves().slots)
        st.rerun()  # redraw with the button disabled while it runs
    if busy:
        explain_progress()
        return
    if job is not None:
        _explanation_answer(job, sc)


@st.fragment(run_every=0.5)
def explain_progress() -> None:
    """Live notes of the running explanation, with Cancel (redrawn every half second)."""
    job: ExplainJob | None = ss().get("why_job")
    if job is None:
        return
    notes = job.poll()
    if _in_line(job, "why_cancel"):
        return
    if not state.progress_bar(job, "Explaining", job.longest):
        return
    for note in notes[-3:]:
        st.caption(state.plain(note))
    if st.button("Cancel", key="why_cancel", disabled=job.cancelled,
                 help="Stop now and keep what has been found so far."):
        job.cancel()


def _apply(job: ExplainJob, change: Change) -> None:
    """Apply a checked fix to the scenario being edited (saved as a new draft)."""
    fixed = changed(job.scenario, *change.edits)
    text = dump_scenario(fixed.model_dump(mode="json", exclude_defaults=True))
    state.replace_scenario(text, f"applied fix: {change.words}")
    ss().why_job = None
    ss().why_applied = change.words


def _explanation_answer(job: ExplainJob, sc: Scenario) -> None:
    """The finished explanation: a few lines, checked fixes with Apply, the ids on demand."""
    job.poll()
    if job.skipped:
        st.info("Cancelled while it waited for a free solver: nothing was computed.")
        return
    if job.error is not None:
        st.error(f"Cannot explain: {state.plain(job.error)}")
        return
    diagnosis = job.diagnosis
    if diagnosis is None:
        return
    if job.scenario != sc:
        st.warning("This explanation is for the scenario as it was before your latest edits: "
                   "press Explain again to bring it up to date.")
    if diagnosis.feasible:
        st.success("This scenario has a plan: nothing to explain. Solve it on the Solve page.")
        return
    found = diagnosis.explanation
    if found is None:
        st.warning("Neither a plan nor a proof that none exists was found within the time "
                   "limit" + (" (stopped on request)" if job.cancelled else "")
                   + "; try a longer time limit.")
        return
    st.error(state.plain(found.summary))
    body = list(found.statement) or [f"[{c.rule}] {c.text}" for c in found.conflicts]
    st.code("\n".join(body), language=None)
    if diagnosis.changes:
        st.markdown("**Changes that make a plan possible** (each checked by a solve)")
        for k, change in enumerate(diagnosis.changes):
            cols = st.columns([5, 1])
            cols[0].markdown(f"- {state.plain(change.words)}")
            if cols[1].button("Apply", key=f"why_apply_{k}", disabled=job.scenario != sc,
                              help="Change the scenario this way (saved as a new draft)."):
                _apply(job, change)
                st.rerun()
    for note in found.notes:
        st.info(state.plain(note))
    if job.cancelled:
        st.caption("Stopped on request: what is shown was found before the stop.")
    rows = [{"Line": g.text, "Rule": m.rule, "Ids": ", ".join(m.ids)}
            for g in found.groups for m in g.members]
    if rows:
        with st.expander(f"The ids behind these lines ({len(rows)})"):
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if found.details:
        with st.expander("Details"):
            st.markdown("\n".join(f"- {state.plain(d)}" for d in found.details))
