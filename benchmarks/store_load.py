"""Store under load: concurrent saves, and listing the runs of large plans.

Measures what issue 13 asked about, for the store in this tree or for another
version of ``store.py`` given by path (the release before, for a before/after)::

    python -m benchmarks.store_load saves
    python -m benchmarks.store_load listing --plan plans/demo
    python -m benchmarks.store_load saves --module /tmp/old_store.py

``saves``: 1,000 saves of distinct texts to one scenario from 8 threads sharing a
store, then from 4 processes with a store each; it counts the saves that failed
(by error) and the texts missing afterwards. ``listing``: 50 runs whose plans
are a solved plan's CSVs scaled up to 2,000 learners (learners copied under new
ids), then, in a fresh process, the time and memory of listing those runs.
Memory is the growth of the process's resident set (psutil) across the call.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

THREADS, THREAD_SAVES = 8, 125
PROCESSES, PROCESS_SAVES = 4, 250
RUNS, LEARNERS = 50, 2000


def load_store(module: str | None) -> ModuleType:
    """The store module: this tree's, or the one at path ``module``."""
    if module is None:
        from rotaplan.runs import store

        return store
    spec = importlib.util.spec_from_file_location("measured_store", module)
    assert spec is not None and spec.loader is not None
    found = importlib.util.module_from_spec(spec)
    sys.modules["measured_store"] = found  # dataclasses look their module up
    spec.loader.exec_module(found)
    return found


def _save(store: Any, scenario_id: int, writer: int, count: int) -> collections.Counter[str]:
    """Save ``count`` texts for one writer; count the failures by error type."""
    failed: collections.Counter[str] = collections.Counter()
    for i in range(count):
        try:
            store.save_version(scenario_id, f"writer: {writer}\nsave: {i}\n")
        except Exception as exc:
            kind = type(exc).__name__
            if "locked" in str(exc):
                kind += " (database is locked)"
            failed[kind] += 1
    return failed


def _process_writer(module: str | None, url: str, scenario_id: int, writer: int,
                    count: int) -> collections.Counter[str]:
    """One process's writer, with a store of its own."""
    return _save(load_store(module).Store(url), scenario_id, writer, count)


def _lost(store: Any, scenario_id: int, writers: int, each: int) -> int:
    """Saved texts that are not in any version afterwards."""
    texts = {v.yaml_text for v in store.versions(scenario_id)}
    return sum(f"writer: {w}\nsave: {i}\n" not in texts
               for w in range(writers) for i in range(each))


def measure_saves(module: str | None) -> dict[str, Any]:
    """1,000 concurrent saves from threads, then from processes: failures, losses, time."""
    mod = load_store(module)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/threads.db"
        store = mod.Store(url)
        sid = store.create_scenario("shared", "start\n").scenario_id
        failures: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()

        def work(w: int) -> None:
            found = _save(store, sid, w, THREAD_SAVES)
            with lock:
                failures.update(found)

        started = time.perf_counter()
        threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out["threads"] = {"saves": THREADS * THREAD_SAVES, "failed": dict(failures),
                          "lost": _lost(store, sid, THREADS, THREAD_SAVES),
                          "seconds": round(time.perf_counter() - started, 2)}

        url = f"sqlite:///{tmp}/processes.db"
        sid = mod.Store(url).create_scenario("shared", "start\n").scenario_id
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
            found = pool.starmap(_process_writer, [(module, url, sid, w, PROCESS_SAVES)
                                                   for w in range(PROCESSES)])
        total: collections.Counter[str] = collections.Counter()
        for counter in found:
            total.update(counter)
        out["processes"] = {"saves": PROCESSES * PROCESS_SAVES, "failed": dict(total),
                            "lost": _lost(mod.Store(url), sid, PROCESSES, PROCESS_SAVES),
                            "seconds": round(time.perf_counter() - started, 2)}
    return out


def scaled_csv(path: Path, learners: int) -> str:
    """A plan CSV with its learners copied under new ids until there are ``learners``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    ids = sorted({r.split(",", 1)[0] for r in rows})
    out = [header]
    for copy in range(-(-learners // len(ids))):
        for row in rows:
            learner, rest = row.split(",", 1)
            number = copy * len(ids) + ids.index(learner)
            if number < learners:
                out.append(f"L{number:05d},{rest}")
    return "\n".join(out) + "\n"


def _list_in_fresh_process(module: str | None, url: str) -> dict[str, Any]:
    """List the runs in a new Python process; return its time and memory growth."""
    code = (
        "import json, sys, time, psutil\n"
        "from benchmarks.store_load import load_store\n"
        "store = load_store(sys.argv[1] or None).Store(sys.argv[2])\n"
        "p = psutil.Process(); before = p.memory_info().rss\n"
        "t = time.perf_counter(); runs = store.runs(); s = time.perf_counter() - t\n"
        "print(json.dumps({'runs': len(runs), 'seconds': round(s, 3),\n"
        "                  'rss_growth_mb': round((p.memory_info().rss - before) / 2**20, 1)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, module or "", url], check=True,
                          capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure_listing(module: str | None, plan: Path) -> dict[str, Any]:
    """50 runs of a 2,000-learner plan: database size, listing time and memory."""
    mod = load_store(module)
    assignments = scaled_csv(plan / "assignments.csv", LEARNERS)
    timetable = scaled_csv(plan / "timetable.csv", LEARNERS)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        url = f"sqlite:///{db}"
        kwargs = {"keep_plans": None} if hasattr(mod, "KEEP_ENV_VAR") else {}
        store = mod.Store(url, **kwargs)
        version = store.create_scenario("big", "a: 1\n")
        started = time.perf_counter()
        for _ in range(RUNS):
            store.record_run(version.id, status="OPTIMAL", objective=1.0, bound=1.0,
                             seconds=60.0, options={}, summary={}, assignments_csv=assignments,
                             timetable_csv=timetable)
        record = time.perf_counter() - started
        store.close()
        files = sum(p.stat().st_size for p in Path(tmp).glob("runs.db*"))
        listing = _list_in_fresh_process(module, url)
    return {"runs": RUNS, "learners": LEARNERS,
            "plan_csv_mb": round((len(assignments) + len(timetable)) / 2**20, 2),
            "database_mb": round(files / 2**20, 1), "record_50_seconds": round(record, 2),
            "listing": listing}


def main() -> None:
    """Run the measurement named on the command line and print it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["saves", "listing"])
    parser.add_argument("--module", help="path of another store.py to measure")
    parser.add_argument("--plan", type=Path, default=Path("plans/demo"),
                        help="a plan folder (assignments.csv, timetable.csv) to scale up")
    args = parser.parse_args()
    result = (measure_saves(args.module) if args.what == "saves"
              else measure_listing(args.module, args.plan))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
