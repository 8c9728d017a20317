"""MiniZinc data files of the medical student scheduling benchmark (MSS): read and write.

An MSS instance (``.dzn``) assigns 19 parameters: seven scalars and twelve
arrays, written ``name = value;`` with ``%`` comments, arrays as ``[a, b]``,
``[| a, b | c, d |]`` or ``arrayNd(1..A, 1..B, [...])`` in row-major order.
:func:`read_instance` reads one into an :class:`MssInstance` and reports a
malformed file with the line and the parameter at fault; :func:`write_solution`
writes a plan as the benchmark's solution file (``schedule = array4d(...)`` over
students x periods x hospitals x disciplines, with the three score comment
lines of the published solutions).

Indices are 1-based throughout, as in the files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rotaplan.io.plan_dir import write_text

MAX_BYTES = 50 * 1024 * 1024
"""The largest instance file read (the biggest published one is under 5 MB)."""

SCALARS = ("Students", "Disciplines", "Hospitals", "Duration", "Horizon", "Groups",
           "MaxDiscPerHosp")
ARRAYS: dict[str, tuple[str | int, ...]] = {
    "DiscGroup": ("Disciplines",),
    "StudDiscGroup": ("Students", "Groups"),
    "AllowedDisc": ("Students", "Disciplines"),
    "Precededby": ("Disciplines", "Disciplines"),
    "Availability": ("Students", "Horizon"),
    "Ability": ("Students", "Hospitals", "Disciplines"),
    "MaxPosHosp": ("Hospitals", "Disciplines", "Horizon"),
    "MinPosHosp": ("Hospitals", "Disciplines", "Horizon"),
    "WeightPref": ("Students", 4),
    "PrefStudDisc": ("Students", "Disciplines"),
    "PrefStudHosp": ("Students", "Hospitals"),
    "ManPref": ("Disciplines",),
}
"""Each array parameter and its shape (scalar names, or fixed sizes)."""

_INT = re.compile(r"-?\d+")
_ITEM = re.compile(r"\s*([A-Za-z_]\w*)\s*=(.*)", re.S)
_ARRAYND = re.compile(r"array\dd\s*\((.*)\)\s*$", re.S)


class DznError(ValueError):
    """A malformed MSS file, in plain words with the file and line."""


@dataclass(frozen=True)
class MssInstance:
    """One MSS instance (the 19 parameters, 1-based nested lists).

    Attributes
    ----------
    name
        The file's stem (``Instance_10``, ``I40_12_1``).
    students, disciplines, hospitals, duration, horizon, groups, max_disc_per_hosp
        The scalars.
    arrays
        Array parameter -> nested lists in the file's order (``arrays["Ability"][s][h][d]``
        with 0-based positions).
    """

    name: str
    students: int
    disciplines: int
    hospitals: int
    duration: int
    horizon: int
    groups: int
    max_disc_per_hosp: int
    arrays: dict[str, list]

    def __getitem__(self, name: str) -> list:
        """An array parameter by its MSS name."""
        return self.arrays[name]

    def internships(self, s: int) -> int:
        """How many internships student ``s`` (0-based) does: the sum over groups."""
        return int(sum(self.arrays["StudDiscGroup"][s]))


def _shape(dims: tuple[str | int, ...], scalars: dict[str, int]) -> list[int]:
    return [scalars[d] if isinstance(d, str) else d for d in dims]


def _nest(values: list[int], shape: list[int]) -> list:
    if len(shape) == 1:
        return values
    step = math.prod(shape[1:])
    return [_nest(values[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


def _items(text: str, source: str) -> dict[str, tuple[int, str]]:
    """``name -> (line, value text)`` of every ``name = value;`` item, comments removed."""
    clean = re.sub(r"%[^\n]*", "", text)
    out: dict[str, tuple[int, str]] = {}
    position = 0
    for chunk in clean.split(";"):
        leading = len(chunk) - len(chunk.lstrip())
        line = clean.count("\n", 0, position + leading) + 1  # where the item starts
        position += len(chunk) + 1
        if not chunk.strip():
            continue
        match = _ITEM.match(chunk)
        if match is None:
            first = chunk.strip().splitlines()[0][:40]
            raise DznError(f"{source}:{line}: expected 'name = value;', got {first!r}")
        name = match.group(1)
        if name in out:
            raise DznError(f"{source}:{line}: {name} is assigned twice")
        out[name] = (line, match.group(2))
    return out


def _numbers(name: str, value: str, source: str, line: int) -> list[int]:
    body = value.strip()
    nd = _ARRAYND.match(body)
    if nd is not None:
        inner = nd.group(1)
        if "[" not in inner:
            raise DznError(f"{source}:{line}: {name}: arrayNd(...) without a [ ... ] list")
        body = inner[inner.index("["):]
    if not body.startswith("["):
        raise DznError(f"{source}:{line}: {name} must be an array [ ... ]")
    leftover = re.sub(r"[\[\]|,\s]|-?\d+", "", body)
    if leftover:
        raise DznError(f"{source}:{line}: {name} holds something that is not a whole number "
                       f"({leftover[:20]!r})")
    return [int(v) for v in _INT.findall(body)]


def read_instance(path: str | Path) -> MssInstance:
    """Read an MSS instance file.

    Raises
    ------
    DznError
        When the file is missing, too large, not text, or a parameter is missing,
        assigned twice, not a whole number or of the wrong size.
    """
    p = Path(path)
    source = str(p)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise DznError(f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MB")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DznError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise DznError(f"{source}: is a folder, not an instance file") from None
    except UnicodeDecodeError:
        raise DznError(f"{source}: not a text file") from None
    except OSError as exc:
        raise DznError(f"{source}: cannot be read ({exc.strerror})") from None
    items = _items(text, source)
    missing = [n for n in (*SCALARS, *ARRAYS) if n not in items]
    if missing:
        raise DznError(f"{source}: missing parameter(s) {', '.join(missing)}")
    scalars: dict[str, int] = {}
    for name in SCALARS:
        line, value = items[name]
        if not re.fullmatch(r"\s*-?\d+\s*", value):
            raise DznError(f"{source}:{line}: {name} must be a whole number, got "
                           f"{value.strip()[:20]!r}")
        scalars[name] = int(value)
        if scalars[name] < (0 if name == "MaxDiscPerHosp" else 1):
            raise DznError(f"{source}:{line}: {name} must be positive, got {scalars[name]}")
    arrays: dict[str, list] = {}
    for name, dims in ARRAYS.items():
        line, value = items[name]
        shape = _shape(dims, scalars)
        values = _numbers(name, value, source, line)
        if len(values) != math.prod(shape):
            sizes = " x ".join(str(d) for d in dims)
            raise DznError(f"{source}:{line}: {name} has {len(values)} values, expected "
                           f"{math.prod(shape)} ({sizes})")
        arrays[name] = _nest(values, shape)
    if scalars["Horizon"] < scalars["Duration"]:
        raise DznError(f"{source}: Duration {scalars['Duration']} is longer than the Horizon "
                       f"{scalars['Horizon']}")
    bad = [g for g in arrays["DiscGroup"] if not 1 <= g <= scalars["Groups"]]
    if bad:
        raise DznError(f"{source}:{items['DiscGroup'][0]}: DiscGroup names group {bad[0]}, "
                       f"outside 1..{scalars['Groups']}")
    return MssInstance(p.stem, scalars["Students"], scalars["Disciplines"],
                       scalars["Hospitals"], scalars["Duration"], scalars["Horizon"],
                       scalars["Groups"], scalars["MaxDiscPerHosp"], arrays)


Internship = tuple[int, int, int, int]
"""(student, first period, hospital, discipline), 1-based."""


def schedule(inst: MssInstance, internships: Sequence[Internship]) -> list[int]:
    """The flat 0/1 ``schedule`` array (students x periods x hospitals x disciplines)."""
    size = inst.horizon * inst.hospitals * inst.disciplines
    flat = [0] * (inst.students * size)
    for s, t, h, d in internships:
        for period in range(t, t + inst.duration):
            flat[(s - 1) * size + (period - 1) * inst.hospitals * inst.disciplines
                 + (h - 1) * inst.disciplines + (d - 1)] = 1
    return flat


def write_solution(path: str | Path, inst: MssInstance, internships: Sequence[Internship],
                   *, c: int, total: int, worst: int) -> Path:
    """Write a solution file in the benchmark's format, with its three score lines."""
    values = ",".join(map(str, schedule(inst, internships)))
    text = (f"schedule= array4d(1..Students,1..Horizon, 1..Hospitals,1..Disciplines,"
            f"[{values}]);\n"
            f" %The real score reached is {total}\n"
            f" %The worst score reached is {worst}\n"
            f" %The score maximizes is {c}\n")
    return write_text(Path(path), text)


__all__ = ["ARRAYS", "SCALARS", "DznError", "Internship", "MssInstance", "read_instance",
           "schedule", "write_solution"]
