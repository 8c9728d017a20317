"""Seeded generator of realistic rotaplan scenarios (NHS ICS rotational programmes).

The generator writes scenarios in the contract format of ``shared/spec/scenario.md``:
four settings (stroke, community rehabilitation, primary care, social care), a
rotational cohort of nurses and allied health professionals who must cover every
setting, and a share of GP (and pharmacist) fellows based in primary care with
partner sessions elsewhere.

Capacity is *planned from demand*: for every learner profession, setting and block
the generator computes how many learners need a place there and gives the sites of
that setting full-time ("core") supervisor capacity of about ``1.3 / tightness``
times that demand. Every site gets at least one full-time supervisor for each
profession it accepts (GPs hosting fellows for two partner sessions a week may work
two or three days), so the session-level rules (a supervisor present at every
clinical session, per-session capacity) never bind on the core plan. Extras that are
never *needed* for feasibility are layered on top (part-time supervisors, a part-time
GP, a limited-hours day centre that only part-timers and fellows fit), and some tight
resources eat into the margin without using it up: rooms in every GP practice (two
practices have fewer rooms than supervisor places in some or all sessions), core
supervisors away for a block (only where the setting keeps 1.15x demand), a ward that
loses a place for one block, and a care home that needs a learner every block.

Everything is drawn from one ``random.Random(seed)``: the same arguments always give
byte-identical YAML.

Usage::

    rotaplan generate --size 30 --seed 2027 --out my.yaml
    rotaplan generate --shipped instances
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

__all__ = ["describe", "generate_scenario", "infeasible_header", "make_infeasible"]

SESSIONS = ["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM", "Wed-AM", "Wed-PM",
            "Thu-AM", "Thu-PM", "Fri-AM", "Fri-PM"]
TEACHING = ["Wed-PM"]
CLINICAL = [s for s in SESSIONS if s not in TEACHING]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]

SETTINGS = [
    ("stroke", "Stroke services"),
    ("community-rehab", "Community rehabilitation"),
    ("primary-care", "Primary care"),
    ("social-care", "Social care"),
]
SETTING_IDS = [s for s, _ in SETTINGS]
BASE_SETTING = "primary-care"
PARTNER_SETTINGS = ["stroke", "community-rehab", "social-care"]

PROFESSIONS = ["nurse", "physiotherapist", "occupational-therapist", "paramedic",
               "pharmacist", "gp"]
SUPERVISION = {
    "paramedic": ["paramedic", "nurse"],
    "occupational-therapist": ["occupational-therapist", "physiotherapist"],
    "pharmacist": ["pharmacist", "gp"],
}
# Rotation cohort mix of a typical ICS programme (GPs join as fellows only).
ROTATION_MIX = [("nurse", 0.40), ("physiotherapist", 0.20), ("occupational-therapist", 0.15),
                ("paramedic", 0.15), ("pharmacist", 0.10)]
ABBR = {"nurse": "rn", "physiotherapist": "pt", "occupational-therapist": "ot",
        "paramedic": "para", "pharmacist": "ph", "gp": "gp"}

DEFAULT_NAME = "Norfolk and Waveney ICS rotational programme 2027/28"
START = "2027-09-06"  # a Monday
TARGET_RATIO = 1.3    # core supervisor capacity / demand at tightness 1.0 (before rounding up)

LOCALITIES = [
    ("Norwich", "nor"), ("King's Lynn", "kl"), ("Great Yarmouth", "gy"), ("Lowestoft", "low"),
    ("Thetford", "thet"), ("Cromer", "cro"), ("North Walsham", "nw"), ("Dereham", "der"),
    ("Wymondham", "wym"), ("Diss", "diss"), ("Fakenham", "fak"), ("Swaffham", "swa"),
    ("Aylsham", "ayl"), ("Downham Market", "dm"), ("Beccles", "bec"), ("Attleborough", "att"),
    ("Holt", "holt"), ("Hunstanton", "hun"), ("Watton", "wat"), ("Sheringham", "sher"),
]
# (id suffix, name template); {loc} is the locality.
SITE_KINDS: dict[str, list[tuple[str, str]]] = {
    "stroke": [
        ("hasu", "{loc} Hospital hyper-acute stroke unit"),
        ("stroke", "{loc} Hospital acute stroke ward"),
        ("stroke-rehab", "{loc} stroke rehabilitation unit"),
        ("esd", "{loc} stroke early supported discharge team"),
    ],
    "community-rehab": [
        ("crt", "{loc} community rehabilitation team"),
        ("icu", "{loc} intermediate care unit"),
        ("ntt", "{loc} neighbourhood therapy team"),
        ("frailty", "{loc} falls and frailty service"),
        ("vw", "{loc} virtual ward"),
    ],
    "primary-care": [
        ("bridge-st", "Bridge Street Surgery"), ("market-pl", "Market Place Surgery"),
        ("church-ln", "Church Lane Medical Practice"), ("station-rd", "Station Road Surgery"),
        ("orchard", "Orchard Medical Centre"), ("riverside", "Riverside Health Centre"),
        ("manor-farm", "Manor Farm Surgery"), ("oak-tree", "Oak Tree Practice"),
        ("harbour", "Harbour Medical Practice"), ("mill-ln", "Mill Lane Surgery"),
        ("abbey", "Abbey Medical Centre"), ("quayside", "Quayside Surgery"),
        ("linden", "Linden House Surgery"), ("heathgate", "Heathgate Practice"),
        ("pcn-hub", "{loc} PCN hub"),
    ],
    "social-care": [
        ("reablement", "{loc} reablement service"), ("oak-lodge", "Oak Lodge care home"),
        ("homecare", "{loc} home care team"), ("willow-house", "Willow House nursing home"),
        ("beech-court", "Beech Court care home"), ("heron-house", "Heron House care home"),
        ("marsh-view", "Marsh View nursing home"), ("cedar-grange", "Cedar Grange care home"),
        ("kingfisher", "Kingfisher House care home"),
    ],
}

FIRST_NAMES = [
    "Alex", "Amira", "Ben", "Bea", "Callum", "Chloe", "Dan", "Divya", "Eleanor", "Emeka",
    "Fatima", "Finn", "Grace", "Hamza", "Harriet", "Isla", "Jack", "Jas", "Kemi", "Kieran",
    "Laura", "Leon", "Maya", "Mohammed", "Niamh", "Noah", "Olivia", "Oscar", "Priya", "Rhys",
    "Rosie", "Sam", "Sana", "Tom", "Tariq", "Una", "Victor", "Wen", "Yusuf", "Zoe",
    "Abi", "Ciaran", "Deepa", "Erin", "Gareth", "Hannah", "Imran", "Joanne", "Karol", "Lucy",
    "Marta", "Nathan", "Ola", "Paul", "Rachel", "Simone", "Thandi", "Will", "Ying", "Zainab",
]
SURNAMES = [
    "Adams", "Ahmed", "Baker", "Begum", "Brown", "Carter", "Chen", "Clarke", "Davies", "Evans",
    "Fisher", "Green", "Hall", "Hussain", "Jones", "Khan", "Kowalski", "Lewis", "Martin", "Mensah",
    "Moore", "Murphy", "Nowak", "Okafor", "Osei", "Patel", "Price", "Reid", "Roberts", "Shah",
    "Singh", "Smith", "Taylor", "Thomas", "Turner", "Walker", "Ward", "Watson", "White", "Wilson",
    "Woods", "Wright", "Young", "Bennett", "Cooper", "Doyle", "Fox", "Gray", "Hughes", "Kaur",
]


# --------------------------------------------------------------------------- helpers

class _Names:
    """Unique invented person names drawn from one rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(self) -> str:
        for _ in range(200):
            n = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"
            if n not in self.used:
                self.used.add(n)
                return n
        n = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}-{len(self.used)}"
        self.used.add(n)
        return n


def _quota(n: int, mix: list[tuple[str, float]]) -> list[str]:
    """n items split by weights with largest remainders (deterministic)."""
    raw = [(p, n * w) for p, w in mix]
    counts = {p: math.floor(x) for p, x in raw}
    rest = n - sum(counts.values())
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i][1] - counts[raw[i][0]]), i))
    for i in order[:rest]:
        counts[raw[i][0]] += 1
    return [p for p, _ in mix for _ in range(counts[p])]


def _allowed(prof: str) -> list[str]:
    return SUPERVISION.get(prof, [prof])


def _day_sessions(days: list[str], open_sessions: list[str]) -> list[str]:
    want = {f"{d}-{h}" for d in days for h in ("AM", "PM")}
    return [s for s in open_sessions if s in want]


def _part_time_supervisor_sessions(rng: random.Random, open_sessions: list[str],
                                   ndays: int | None = None) -> list[str]:
    """Whole working days (2-3) giving at least 4 clinical sessions."""
    nd = ndays if ndays is not None else rng.choice([2, 2, 3])
    days = sorted(rng.sample(DAYS, nd), key=DAYS.index)
    sess = _day_sessions(days, open_sessions)
    while sum(1 for s in sess if s not in TEACHING) < 4:
        days = sorted(set(days) | {rng.choice([d for d in DAYS if d not in days])},
                      key=DAYS.index)
        sess = _day_sessions(days, open_sessions)
    return sess


def _part_time_learner(rng: random.Random) -> tuple[int, list[str]]:
    """(sessions_per_week, available_sessions) of a part-time learner; always has Wed-PM."""
    spw = rng.choice([6, 7, 8])
    others = [d for d in DAYS if d != "Wed"]
    ndays = 2 if spw < 8 else 3
    days = ["Wed", *rng.sample(others, ndays)]
    avail = set(_day_sessions(days, SESSIONS))
    spare = [s for s in SESSIONS if s not in avail]
    if spw == 7:
        avail.add(rng.choice(spare))
        spare = [s for s in SESSIONS if s not in avail]
    if rng.random() < 0.3:  # one spare half-day gives some flexibility
        avail.add(rng.choice(spare))
    return spw, [s for s in SESSIONS if s in avail]


# --------------------------------------------------------------------------- generator

def generate_scenario(size: int, *, seed: int, blocks: int = 4, name: str | None = None,
                      fellow_share: float = 0.15, part_time_share: float = 0.2,
                      tightness: float = 1.0) -> dict[str, Any]:
    """A realistic scenario with ``size`` learners, as a plain dict in contract format.

    ``tightness`` scales supervisor capacity: core capacity is about
    ``1.3 / tightness`` times demand for every (profession, setting, block), rounded up, so
    1.0 is comfortably feasible and values well above 1.4 may be infeasible.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    if blocks < len(SETTING_IDS):
        raise ValueError(f"blocks must be at least {len(SETTING_IDS)} (rotation covers "
                         f"{len(SETTING_IDS)} settings)")
    if tightness <= 0:
        raise ValueError("tightness must be positive")
    if not 0 <= fellow_share <= 1 or not 0 <= part_time_share <= 1:
        raise ValueError("shares must be within [0, 1]")
    rng = random.Random(seed)
    names = _Names(rng)
    all_blocks = list(range(1, blocks + 1))
    ratio = TARGET_RATIO / tightness

    # ---- learner skeletons: profession, track, blocks, working pattern
    n_fel = min(size, round(size * fellow_share))
    n_rot = size - n_fel
    rot_profs = _quota(n_rot, ROTATION_MIX)
    rng.shuffle(rot_profs)
    n_fel_ph = round(n_fel * 0.25)
    fel_profs = ["pharmacist"] * n_fel_ph + ["gp"] * (n_fel - n_fel_ph)
    rng.shuffle(fel_profs)
    part_time = set(rng.sample(range(n_rot), round(n_rot * part_time_share)))

    learners: list[dict[str, Any]] = []
    for i, prof in enumerate(rot_profs):
        lr: dict[str, Any] = {"id": f"L{i + 1:03d}", "name": names.person(),
                              "profession": prof, "track": "rotation"}
        if i in part_time:
            lr["sessions_per_week"], lr["available_sessions"] = _part_time_learner(rng)
        if blocks > len(SETTING_IDS) and rng.random() < 0.2:  # joins the programme late
            start = rng.randint(2, blocks - len(SETTING_IDS) + 1)
            lr["blocks"] = list(range(start, blocks + 1))
        learners.append(lr)
    for i, prof in enumerate(fel_profs):
        lr = {"id": f"F{i + 1:03d}", "name": names.person(), "profession": prof,
              "track": "fellowship"}
        if rng.random() < part_time_share / 2:  # a fellow working Mon-Thu
            lr["sessions_per_week"] = 8
            lr["available_sessions"] = _day_sessions(["Mon", "Tue", "Wed", "Thu"], SESSIONS)
        if rng.random() < 0.1:
            lr["blocks"] = all_blocks[1:]
        learners.append(lr)

    # ---- demand per (profession, setting, block)
    dem: dict[tuple[str, str, int], float] = defaultdict(float)
    for lr in learners:
        for b in lr.get("blocks", all_blocks):
            if lr["track"] == "rotation":
                for t in SETTING_IDS:
                    dem[lr["profession"], t, b] += 1 / len(SETTING_IDS)
            else:
                dem[lr["profession"], BASE_SETTING, b] += 1
                for t in PARTNER_SETTINGS:
                    dem[lr["profession"], t, b] += 1 / len(PARTNER_SETTINGS)
    peak: dict[tuple[str, str], float] = defaultdict(float)
    for (p, t, _b), d in dem.items():
        peak[p, t] = max(peak[p, t], d)

    # ---- sites per setting
    per_setting = max(2, round(size / 10))
    counts = {t: per_setting for t in SETTING_IDS}
    counts[BASE_SETTING] = max(2, round(size / 10 + n_fel / 4))
    loc_order = list(range(len(LOCALITIES)))
    rng.shuffle(loc_order)
    home_locs = loc_order[:min(len(LOCALITIES), max(4, per_setting + 2))]
    used_ids: set[str] = set()
    sites: list[dict[str, Any]] = []

    def new_site(setting: str, kinds: list[tuple[str, str]]) -> dict[str, Any]:
        for attempt in range(500):
            li = home_locs[rng.randrange(len(home_locs))] if attempt < 300 else \
                rng.randrange(len(LOCALITIES))
            loc, code = LOCALITIES[li]
            suffix, tmpl = kinds[rng.randrange(len(kinds))]
            sid = f"{code}-{suffix}"
            if sid not in used_ids:
                break
        else:
            sid = f"{code}-{suffix}-{len(sites) + 1}"
        used_ids.add(sid)
        site = {"id": sid, "name": tmpl.format(loc=loc), "setting": setting, "locality": loc,
                "_alloc": defaultdict(int), "_sups": [], "_limited": False}
        sites.append(site)
        return site

    by_setting: dict[str, list[dict[str, Any]]] = {}
    for t in SETTING_IDS:
        by_setting[t] = [new_site(t, SITE_KINDS[t]) for _ in range(counts[t])]

    # ---- accepts and core allocation: capacity ~ ratio x peak demand
    for t in SETTING_IDS:
        ss = by_setting[t]
        k = len(ss)
        for p in PROFESSIONS:
            d = peak.get((p, t), 0.0)
            if d <= 0:
                continue
            need = math.ceil(d * ratio - 1e-9)
            if p == "nurse" or (p == "gp" and t == BASE_SETTING):
                m = k  # every site takes nurses; every practice has a GP trainer
            elif p == "gp":
                m = min(k, max(1, round(k / 3)), need)
            else:  # spread over up to 2/3 of the sites, at least two
                m = min(k, max(2, min(need, math.ceil(2 * k / 3))))
            chosen = rng.sample(ss, m)
            need = max(m, need)
            for s in chosen:
                s["_alloc"][p] += 1
            weights = [rng.uniform(0.5, 1.5) for _ in chosen]
            for _ in range(need - m):
                s = rng.choices(chosen, weights=weights)[0]
                s["_alloc"][p] += 1
        for s in ss:
            if not s["_alloc"]:  # tiny cohorts: every site takes someone
                ranked = sorted(PROFESSIONS, key=lambda q: -peak.get((q, t), 0.0))
                s["_alloc"][ranked[0]] += 1

    # ---- site details that do not depend on supervisors
    for t in SETTING_IDS:
        for s in by_setting[t]:
            s["accepts"] = [p for p in PROFESSIONS if s["_alloc"].get(p, 0) > 0]
            s["open_sessions"] = list(SESSIONS)
            if t == BASE_SETTING and rng.random() < 0.4:
                s["open_sessions"] = [x for x in SESSIONS if x != "Wed-PM"]  # half-day closing

    # ---- supervisors
    def new_sup(site: dict[str, Any], prof: str, cap: int, core_for: str | None,
                sessions: list[str] | None = None) -> dict[str, Any]:
        n = sum(1 for u in site["_sups"] if u["profession"] == prof) + 1
        u: dict[str, Any] = {"id": f"{site['id']}-{ABBR[prof]}{n}", "name": names.person(),
                             "profession": prof, "capacity": cap}
        if sessions is not None:
            u["sessions"] = sessions
        u["_core_for"] = core_for
        u["_unavail"] = set()
        site["_sups"].append(u)
        return u

    for t in SETTING_IDS:
        for s in by_setting[t]:
            for p in s["accepts"]:
                a = s["_alloc"][p]
                first = True
                while a > 0:
                    c = min(a, rng.choice([1, 2, 2, 3]))
                    a -= c
                    alts = _allowed(p)
                    prof = alts[0] if first or len(alts) == 1 or rng.random() < 0.7 \
                        else rng.choice(alts[1:])
                    first = False
                    sess = None
                    if p == "gp" and t != BASE_SETTING and rng.random() < 0.6:
                        # a GP with an extended role, in for two or three days:
                        # fellows need only two partner sessions a week
                        sess = _part_time_supervisor_sessions(rng, s["open_sessions"])
                    new_sup(s, prof, c, p, sess)
            if rng.random() < 0.4:  # an extra part-time (or full-time) supervisor
                p = rng.choice(s["accepts"])
                prof = rng.choice(_allowed(p))
                sess = _part_time_supervisor_sessions(rng, s["open_sessions"]) \
                    if rng.random() < 0.7 else None
                u = new_sup(s, prof, rng.choice([1, 1, 2]), None, sess)
                if rng.random() < 0.3:
                    u["_unavail"].add(rng.choice(all_blocks))

    # a part-time GP (Monday to Thursday, never Fridays) in a practice
    practices = by_setting[BASE_SETTING]
    if practices:
        s = rng.choice(practices)
        sess = [x for x in s["open_sessions"] if not x.startswith("Fri")]
        new_sup(s, "gp", 1, None, sess)

    # ---- core supervisors away for a block, only where the setting keeps its margin
    def core_cap(p: str, t: str, b: int) -> int:
        return sum(u["capacity"] for s in by_setting[t] for u in s["_sups"]
                   if u["_core_for"] == p and b not in u["_unavail"])

    for t in PARTNER_SETTINGS:
        for s in by_setting[t]:
            for u in s["_sups"]:
                if u["_core_for"] is None or rng.random() >= 0.15:
                    continue
                p, b = u["_core_for"], rng.choice(all_blocks)
                others = [v for v in s["_sups"] if v is not u and "sessions" not in v
                          and b not in v["_unavail"] and v["profession"] in _allowed(p)]
                margin = core_cap(p, t, b) - u["capacity"]
                if others and margin >= math.ceil(dem.get((p, t, b), 0.0) * 1.15):
                    u["_unavail"].add(b)

    # ---- site capacity, rooms, minimum learners
    def load(s: dict[str, Any]) -> int:
        return sum(s["_alloc"].values())

    tight = [s for s in practices if load(s) >= 3]
    rng.shuffle(tight)
    for s in practices:
        n = load(s)
        if s in tight[:1]:
            s["rooms"] = n - 1              # fewer rooms than supervisor places
        elif s in tight[1:2]:
            busy = sorted(rng.sample(CLINICAL, 2), key=SESSIONS.index)
            s["rooms"] = {"default": n, busy[0]: n - 1, busy[1]: n - 1}
        else:
            s["rooms"] = n + rng.choice([0, 0, 1])
            if rng.random() < 0.4:
                s["capacity"] = n
    for t in PARTNER_SETTINGS:
        for s in by_setting[t]:
            if rng.random() < 0.5:
                s["capacity"] = load(s)
    # a ward closed for refurbishment for one block: capacity reduced in that block only
    cands = [s for t in ("stroke", "community-rehab") for s in by_setting[t]
             if load(s) >= 2 and "capacity" not in s]
    if cands:
        s = rng.choice(cands)
        s["capacity"] = {rng.choice(all_blocks): load(s) - 1}
    # a care home that relies on a learner every block
    homes = [s for s in by_setting["social-care"] if "nurse" in s["accepts"]]
    if homes and size >= 8:
        s = max(homes, key=lambda x: (load(x), x["id"]))
        s["min_learners"] = 1

    # ---- a limited-hours day centre: only part-timers and fellows fit its hours
    if size >= 20:
        dc = new_site("social-care", [("day-centre", "{loc} day opportunities centre")])
        dc["_limited"] = True
        dc["open_sessions"] = _day_sessions(["Mon", "Tue", "Wed", "Thu"], SESSIONS)
        acc = ["nurse", "occupational-therapist"] + (["gp"] if "gp" in fel_profs else [])
        dc["accepts"] = acc
        dc["capacity"] = 2
        new_sup(dc, "nurse", 1, None)
        new_sup(dc, "occupational-therapist", 1, None)
        if "gp" in fel_profs:
            new_sup(dc, "gp", 1, None,
                    _part_time_supervisor_sessions(rng, dc["open_sessions"], ndays=2))
        by_setting["social-care"].append(dc)

    # ---- preferences, avoid, pins (need the sites)
    std = [s for s in sites if not s["_limited"]]
    pinned_slots: set[tuple[str, int]] = set()
    pinned_bases: set[str] = set()
    for lr in learners:
        p = lr["profession"]
        lblocks = lr.get("blocks", all_blocks)
        home = LOCALITIES[rng.choice(home_locs)][0]
        if lr["track"] == "rotation":
            site_cands = [s for s in sites if p in s["accepts"]]
            set_cands = list(SETTING_IDS)
        else:
            site_cands = [s for s in sites if p in s["accepts"] and
                          (s["setting"] == BASE_SETTING or s["setting"] in PARTNER_SETTINGS)]
            set_cands = list(PARTNER_SETTINGS)
        avoid: list[str] = []
        if lr["track"] == "rotation" and rng.random() < 0.08:
            options = [t for t in SETTING_IDS
                       if sum(1 for s in std if s["setting"] == t and p in s["accepts"]) >= 3]
            if options:
                t = rng.choice(options)
                avoid = [rng.choice([s for s in std if s["setting"] == t
                                     and p in s["accepts"]])["id"]]
        prefs: list[str] = []
        npref = rng.choices([0, 1, 2, 3, 4], weights=[15, 15, 25, 25, 20])[0]
        for _ in range(npref):
            if rng.random() < 0.6:
                pool = [s["id"] for s in site_cands if s["id"] not in prefs
                        and s["id"] not in avoid]
                local = [sid for sid in pool
                         if next(x for x in sites if x["id"] == sid)["locality"] == home]
                if local and rng.random() < 0.5:
                    pool = local
            else:
                pool = [t for t in set_cands if t not in prefs]
            if pool:
                prefs.append(rng.choice(pool))
        pinned: dict[int, str] = {}
        if lr["track"] == "rotation" and rng.random() < 0.06:
            b = rng.choice(lblocks)
            opts = [s for s in std if p in s["accepts"] and s["id"] not in avoid
                    and (s["id"], b) not in pinned_slots
                    and any(u["_core_for"] is not None and "sessions" not in u
                            and u["profession"] in _allowed(p) and b not in u["_unavail"]
                            for u in s["_sups"])]
            if opts:
                s = rng.choice(opts)
                pinned = {b: s["id"]}
                pinned_slots.add((s["id"], b))
        elif lr["track"] == "fellowship" and rng.random() < 0.2:
            opts = [s for s in practices if p in s["accepts"] and s["id"] not in pinned_bases]
            if opts:
                s = rng.choice(opts)
                pinned = {lblocks[0]: s["id"]}
                pinned_bases.add(s["id"])
        if prefs:
            lr["preferences"] = prefs
        if avoid:
            lr["avoid"] = avoid
        if pinned:
            lr["pinned"] = pinned

    # ---- assemble the contract dict
    out_sites = []
    for t in SETTING_IDS:
        for s in by_setting[t]:
            sd: dict[str, Any] = {"id": s["id"], "name": s["name"], "setting": t,
                                  "locality": s["locality"], "accepts": s["accepts"]}
            for key in ("capacity", "min_learners"):
                if key in s:
                    sd[key] = s[key]
            if s["open_sessions"] != SESSIONS:
                sd["open_sessions"] = s["open_sessions"]
            if "rooms" in s:
                sd["rooms"] = s["rooms"]
            sups = []
            for u in s["_sups"]:
                e = {k: v for k, v in u.items() if not k.startswith("_")}
                if u["_unavail"]:
                    e["unavailable_blocks"] = sorted(u["_unavail"])
                sups.append(e)
            sd["supervisors"] = sups
            out_sites.append(sd)

    out_learners = []
    key_order = ["id", "name", "profession", "track", "sessions_per_week",
                 "available_sessions", "blocks", "preferences", "avoid", "pinned"]
    for lr in learners:
        e = {k: lr[k] for k in key_order if k in lr}
        if e["track"] == "rotation":
            del e["track"]  # the default
        out_learners.append(e)

    return {**_fixed_sections(name or DEFAULT_NAME, blocks),
            "sites": out_sites, "learners": out_learners}


def _fixed_sections(name: str, blocks: int) -> dict[str, Any]:
    """programme, settings, professions, supervision and tracks."""
    return {
        "programme": {
            "name": name,
            "start": START,
            "blocks": blocks,
            "block_weeks": 13 if blocks == 4 else max(1, 52 // blocks),
            "sessions": list(SESSIONS),
            "teaching_sessions": list(TEACHING),
        },
        "settings": [{"id": sid, "name": nm} for sid, nm in SETTINGS],
        "professions": list(PROFESSIONS),
        "supervision": {k: list(v) for k, v in SUPERVISION.items()},
        "tracks": {
            "rotation": {"cover": list(SETTING_IDS), "no_repeat_site": True},
            "fellowship": {"base_setting": BASE_SETTING,
                           "partner_settings": list(PARTNER_SETTINGS),
                           "partner_sessions": 2, "distinct_partner_settings": 2},
        },
    }


# --------------------------------------------------------------------------- infeasible

INFEASIBLE_HEADER = """\
A deliberately INFEASIBLE scenario: valid input, but no plan exists.

The conflict (rules `cover` and `supervisor-capacity`, via `supervisor-match`):
three physiotherapists ({physios}) are on the rotation track and must
each spend a block in stroke services (rule 9, cover). Physiotherapists may only be
supervised by physiotherapists (they are not in `supervision`), and the only stroke
site that accepts them is {stroke}, whose single physiotherapist supervisor
{sup} has capacity 1 and is unavailable in blocks 3 and 4 (rule 3). So stroke
can take at most 2 physiotherapist placements in the year (blocks 1 and 2), but 3
are needed. {other} does not accept physiotherapists.

Every learner on their own could still be placed (so this is not an input error),
and everything else has room to spare: give {sup} capacity 2, or drop one
of their unavailable blocks, and the scenario becomes feasible."""


def make_infeasible(seed: int) -> dict[str, Any]:
    """A small scenario that passes input validation but has no plan.

    Its explanation is in ``infeasible_header(data)``; ``main`` writes it as the
    leading comment of ``infeasible.yaml``.
    """
    rng = random.Random(seed)
    names = _Names(rng)

    def sup(sid: str, prof: str, cap: int, **kw: Any) -> dict[str, Any]:
        return {"id": sid, "name": names.person(), "profession": prof, "capacity": cap, **kw}

    sites: list[dict[str, Any]] = [
        {"id": "kl-hasu", "name": "King's Lynn Hospital hyper-acute stroke unit",
         "setting": "stroke", "locality": "King's Lynn",
         "accepts": ["nurse", "physiotherapist"],
         "supervisors": [sup("kl-hasu-rn1", "nurse", 2),
                         sup("kl-hasu-pt1", "physiotherapist", 1,
                             unavailable_blocks=[3, 4])]},
        {"id": "gy-stroke", "name": "Great Yarmouth Hospital acute stroke ward",
         "setting": "stroke", "locality": "Great Yarmouth",
         "accepts": ["nurse", "paramedic", "gp"],
         "supervisors": [sup("gy-stroke-rn1", "nurse", 2), sup("gy-stroke-para1", "paramedic", 1),
                         sup("gy-stroke-gp1", "gp", 1,
                             sessions=["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM"])]},
        {"id": "nor-crt", "name": "Norwich community rehabilitation team",
         "setting": "community-rehab", "locality": "Norwich",
         "supervisors": [sup("nor-crt-rn1", "nurse", 2), sup("nor-crt-pt1", "physiotherapist", 2),
                         sup("nor-crt-gp1", "gp", 1)]},
        {"id": "low-ntt", "name": "Lowestoft neighbourhood therapy team",
         "setting": "community-rehab", "locality": "Lowestoft",
         "accepts": ["nurse", "physiotherapist", "paramedic"],
         "supervisors": [sup("low-ntt-rn1", "nurse", 2), sup("low-ntt-pt1", "physiotherapist", 2)]},
        {"id": "bridge-st", "name": "Bridge Street Surgery", "setting": "primary-care",
         "locality": "Norwich", "rooms": 4,
         "supervisors": [sup("bridge-st-gp1", "gp", 2), sup("bridge-st-rn1", "nurse", 2),
                         sup("bridge-st-pt1", "physiotherapist", 2)]},
        {"id": "harbour", "name": "Harbour Medical Practice", "setting": "primary-care",
         "locality": "Great Yarmouth",
         "open_sessions": [x for x in SESSIONS if x != "Wed-PM"],
         "rooms": {"default": 3, "Tue-AM": 2},
         "supervisors": [sup("harbour-gp1", "gp", 1), sup("harbour-rn1", "nurse", 2),
                         sup("harbour-para1", "paramedic", 1),
                         sup("harbour-pt1", "physiotherapist", 1)]},
        {"id": "oak-lodge", "name": "Oak Lodge care home", "setting": "social-care",
         "locality": "King's Lynn", "accepts": ["nurse", "physiotherapist", "paramedic", "gp"],
         "min_learners": 1,
         "supervisors": [sup("oak-lodge-rn1", "nurse", 3),
                         sup("oak-lodge-pt1", "physiotherapist", 2),
                         sup("oak-lodge-gp1", "gp", 1, sessions=["Thu-AM", "Thu-PM", "Fri-AM"])]},
        {"id": "gy-reablement", "name": "Great Yarmouth reablement service",
         "setting": "social-care", "locality": "Great Yarmouth",
         "accepts": ["nurse", "physiotherapist", "paramedic"],
         "supervisors": [sup("gy-reablement-rn1", "nurse", 2),
                         sup("gy-reablement-pt1", "physiotherapist", 1)]},
    ]
    site_ids = [s["id"] for s in sites]
    profs = ["physiotherapist"] * 3 + ["nurse"] * 3 + ["paramedic"]
    learners: list[dict[str, Any]] = []
    for i, p in enumerate(profs):
        ok = [s["id"] for s in sites if p in s.get("accepts", PROFESSIONS) and
              s["id"] != "kl-hasu"]
        prefs = rng.sample(ok + SETTING_IDS, rng.randint(1, 3))
        learners.append({"id": f"L{i + 1:03d}", "name": names.person(), "profession": p,
                         "preferences": prefs})
    part = rng.choice([i for i, p in enumerate(profs) if p == "nurse"])
    prefs = learners[part].pop("preferences")
    learners[part].update(sessions_per_week=6,
                          available_sessions=["Mon-AM", "Mon-PM", "Tue-AM", "Tue-PM",
                                              "Wed-AM", "Wed-PM"])
    learners[part]["preferences"] = prefs
    learners.append({"id": "F001", "name": names.person(), "profession": "gp",
                     "track": "fellowship",
                     "preferences": rng.sample(["bridge-st", "harbour", "stroke", "social-care"],
                                               2)})
    assert all(p in site_ids or p in SETTING_IDS for lr in learners for p in lr["preferences"])
    return {**_fixed_sections("Infeasible example (too little stroke physiotherapy)", 4),
            "sites": sites, "learners": learners}


def infeasible_header(data: dict[str, Any]) -> str:
    physios = [lr["id"] for lr in data["learners"] if lr["profession"] == "physiotherapist"]
    return INFEASIBLE_HEADER.format(physios=", ".join(physios), stroke="kl-hasu",
                                    sup="kl-hasu-pt1", other="gy-stroke")


# --------------------------------------------------------------------------- describe

def describe(data: dict[str, Any]) -> str:
    """One line of counts: learners (fellows, part-time), sites, supervisors."""
    ls = data["learners"]
    fel = sum(1 for lr in ls if lr.get("track") == "fellowship")
    pt = sum(1 for lr in ls if "sessions_per_week" in lr)
    sups = sum(len(s.get("supervisors") or []) for s in data["sites"])
    fellows = "fellow" if fel == 1 else "fellows"
    return (f"{len(ls)} learners ({len(ls) - fel} rotation, {fel} {fellows}, {pt} part-time), "
            f"{len(data['sites'])} sites, {sups} supervisors, "
            f"{data['programme']['blocks']} blocks")
