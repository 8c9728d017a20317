"""A test oracle: contract lookups over a raw scenario dict (no rotaplan code)."""

from __future__ import annotations

from typing import Any

# The contract's default sessions (§1), copied here so the oracle owes rotaplan nothing.
DEFAULT_SESSIONS = ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM", "Wed-PM",
                    "Thu-AM", "Thu-PM", "Fri-AM", "Fri-PM"]


class ContractIndex:
    """Lookups over a scenario dict, written from the contract alone (a test oracle).

    It reads the raw YAML data, not rotaplan's models, so tests that use it check
    rotaplan against the contract rather than against itself.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        prog = data["programme"]
        self.blocks = list(range(1, prog["blocks"] + 1))
        self.sessions = list(prog.get("sessions") or DEFAULT_SESSIONS)
        self.teaching = set(prog.get("teaching_sessions") or [])
        self.sites = {s["id"]: s for s in data["sites"]}
        self.sups = {u["id"]: (u, s["id"]) for s in data["sites"] for u in s.get("supervisors", [])}
        self.learners = {x["id"]: x for x in data["learners"]}
        tracks = data.get("tracks") or {}
        self.rot = tracks.get("rotation") or {}
        self.fel = tracks.get("fellowship") or {}
        self.obj = data.get("objective") or {}
        self.allow_unplaced = bool(self.obj.get("allow_unplaced", False))
        self.penalty = int(self.obj.get("unplaced_penalty", 1000))
        self.minimax = self.obj.get("fairness") == "minimax"

    def setting(self, sid: str) -> str:
        return str(self.sites[sid]["setting"])

    def accepts(self, sid: str, prof: str) -> bool:
        acc = self.sites[sid].get("accepts")
        return acc is None or prof in acc

    def cap(self, sid: str, block: int) -> int | None:
        cap = self.sites[sid].get("capacity")
        return cap.get(block) if isinstance(cap, dict) else cap

    def minimum(self, sid: str, block: int) -> int:
        low = self.sites[sid].get("min_learners") or 0
        return low.get(block, 0) if isinstance(low, dict) else low

    def open(self, sid: str) -> set[str]:
        opened = self.sites[sid].get("open_sessions")
        return set(self.sessions if opened is None else opened)

    def rooms(self, sid: str, session: str) -> int | None:
        rooms = self.sites[sid].get("rooms")
        if isinstance(rooms, dict):
            return rooms.get(session, rooms.get("default", 0))
        return rooms

    def sups_at(self, sid: str) -> list[str]:
        return [u["id"] for u in self.sites[sid].get("supervisors", [])]

    def sup_cap(self, uid: str) -> int:
        return int(self.sups[uid][0].get("capacity", 1))

    def works(self, uid: str) -> set[str]:
        sup, sid = self.sups[uid]
        return set(sup["sessions"]) if sup.get("sessions") is not None else self.open(sid)

    def allowed(self, sup_prof: str, learner_prof: str) -> bool:
        return sup_prof in (self.data.get("supervision") or {}).get(learner_prof, [learner_prof])

    def may_name(self, uid: str, sid: str, lid: str, block: int) -> bool:
        """Rule 3: works at the site, may supervise the learner, available."""
        sup, home = self.sups[uid]
        return (home == sid and self.allowed(sup["profession"], self.prof(lid))
                and block not in sup.get("unavailable_blocks", []))

    def may_oversee(self, uid: str, sid: str, lid: str, block: int, session: str) -> bool:
        """Rule 7 for one learner: rule 3 and works that session."""
        return self.may_name(uid, sid, lid, block) and session in self.works(uid)

    def prof(self, lid: str) -> str:
        return str(self.learners[lid]["profession"])

    def fellow(self, lid: str) -> bool:
        return self.learners[lid].get("track", "rotation") == "fellowship"

    def avail(self, lid: str) -> set[str]:
        chosen = self.learners[lid].get("available_sessions")
        return set(self.sessions if chosen is None else chosen)

    def per_week(self, lid: str) -> int:
        spw = self.learners[lid].get("sessions_per_week")
        return len(self.avail(lid)) if spw is None else int(spw)

    def cost(self, lid: str, sid: str) -> int:
        prefs = self.learners[lid].get("preferences") or []
        if not prefs:
            return 0
        if sid in prefs:
            return prefs.index(sid)
        if self.setting(sid) in prefs:
            return prefs.index(self.setting(sid))
        return len(prefs)

    def supervisors(self, sid: str, prof: str, block: int) -> list[tuple[str, int, set[str]]]:
        """(id, capacity, sessions worked) of the supervisors at a site who may supervise a
        profession and are available in a block."""
        allowed = (self.data.get("supervision") or {}).get(prof, [prof])
        out = []
        for u in self.sites[sid].get("supervisors", []):
            if u["profession"] in allowed and block not in u.get("unavailable_blocks", []):
                works = set(u["sessions"]) if u.get("sessions") is not None else self.open(sid)
                out.append((u["id"], int(u.get("capacity", 1)), works))
        return out

    def learner_blocks(self, lid: str) -> list[int]:
        return sorted(self.learners[lid].get("blocks") or self.blocks)

    def weeks(self, lid: str) -> tuple[int, list[str]]:
        """Clinical sessions a week and the sessions that could be clinical."""
        learner = self.learners[lid]
        avail = learner.get("available_sessions")
        avail = self.sessions if avail is None else avail
        attends = [d for d in avail if d in self.teaching]
        per_week = learner.get("sessions_per_week", len(avail))
        return per_week - len(attends), [d for d in avail if d not in self.teaching]
