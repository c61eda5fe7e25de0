"""The exercise headers of a workshop notebook (issue 24), parsed for the schedule and checked by the tests.

The convention, in the spirit of ARENA's exercises:

- every exercise's markdown cell (the last markdown cell before its ``solution`` cell; usually the cell
  right before it, though a setup code cell may sit between) starts with a level-3 title and one header
  line::

      ### Exercise 2: one step of the forward recursion
      > Difficulty 🔴🔴⚪⚪⚪ · Importance 🔵🔵🔵🔵⚪ · about 15 minutes

  (1 to 5 filled dots of 5 each; whole minutes; exercises numbered 1, 2, ... in notebook order);
- the notebook's title cell (its first markdown cell) ends with
  ``> **You will learn:** ... · **Time:** about N minutes``, N being the exercises' minutes plus the
  reading time (the quote may wrap over several ``>`` lines).

A notebook that breaks the convention raises :class:`HeaderError`, one sentence naming the notebook and
the exercise, so ``labkit workshop build`` refuses it and the tests catch it before a teacher does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.report.errors import UsageError

RED, BLUE, EMPTY = "🔴", "🔵", "⚪"
TITLE = re.compile(r"### Exercise (\d+): (\S.*?)\s*")
HEADER = re.compile(rf"> Difficulty ([{RED}{EMPTY}]+) · Importance ([{BLUE}{EMPTY}]+) · about (\d+) minutes?\s*")
LEARN = re.compile(r"\*\*You will learn:\*\*\s*(\S.*?)\s*·\s*\*\*Time:\*\*\s*about (\d+) minutes?\.?")
EXAMPLE = ("'### Exercise {n}: <what it computes>' and then the line "
           "'> Difficulty 🔴🔴⚪⚪⚪ · Importance 🔵🔵🔵⚪⚪ · about 15 minutes'")


class HeaderError(UsageError):
    """A notebook breaks the exercise-header convention."""


@dataclass(frozen=True)
class Exercise:
    number: int
    title: str
    difficulty: int   # 1..5
    importance: int   # 1..5
    minutes: int

    @property
    def dots(self) -> tuple[str, str]:
        """The difficulty and importance as the header writes them."""
        return (RED * self.difficulty + EMPTY * (5 - self.difficulty),
                BLUE * self.importance + EMPTY * (5 - self.importance))


@dataclass(frozen=True)
class Plan:
    """What a notebook's headers say: what the learner will learn, the total time and the exercises."""
    learn: str
    minutes: int
    exercises: list[Exercise]

    @property
    def exercise_minutes(self) -> int:
        return sum(e.minutes for e in self.exercises)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _dots(text: str, filled: str) -> int | None:
    """The number of filled dots in a five-dot scale written as filled dots then empty ones, else None."""
    n = len(text) - len(text.lstrip(filled))
    return n if len(text) == 5 and 1 <= n <= 5 and text[n:] == EMPTY * (5 - n) else None


def _plain(source: str) -> str:
    return source.replace("\ufe0f", "")   # some editors add an emoji variation selector after each dot


def parse_exercise(source: str, number: int, where: str) -> Exercise:
    """The header at the start of an exercise's markdown cell, or HeaderError naming ``where``."""
    lines = _plain(source).strip().splitlines()
    title = TITLE.fullmatch(lines[0]) if lines else None
    header = HEADER.fullmatch(lines[1]) if len(lines) > 1 else None
    if title is None or header is None:
        raise HeaderError(f"{where}: exercise {number}'s markdown cell must start with {EXAMPLE.format(n=number)}.")
    if int(title.group(1)) != number:
        raise HeaderError(f"{where}: the header '### Exercise {title.group(1)}' should read '### Exercise {number}' "
                          "(exercises are numbered 1, 2, ... in notebook order).")
    difficulty, importance = _dots(header.group(1), RED), _dots(header.group(2), BLUE)
    if difficulty is None or importance is None or int(header.group(3)) < 1:
        raise HeaderError(f"{where}: exercise {number}'s header needs 1 to 5 filled dots of 5 for difficulty "
                          "and importance (filled first) and at least 1 minute, as in "
                          "'> Difficulty 🔴🔴⚪⚪⚪ · Importance 🔵🔵🔵⚪⚪ · about 15 minutes'.")
    return Exercise(number, title.group(2), difficulty, importance, int(header.group(3)))


def parse_title(source: str, where: str) -> tuple[str, int]:
    """``(what you will learn, total minutes)`` from the quote that ends a title cell, or HeaderError."""
    lines = _plain(source).rstrip().splitlines()
    quote: list[str] = []
    while lines and lines[-1].startswith(">"):
        quote.insert(0, lines.pop()[1:].strip())
    m = LEARN.fullmatch(" ".join(quote))
    if m is None:
        raise HeaderError(f"{where}: the title cell must end with the line "
                          "'> **You will learn:** ... · **Time:** about N minutes'.")
    return m.group(1), int(m.group(2))


def exercise_cells(nb, where: str) -> list[tuple[int, int]]:
    """``(markdown cell index, solution cell index)`` of each exercise, checking each solution is followed by
    a ``check`` cell; HeaderError (one sentence) when a solution has no check or no markdown cell before it."""
    found, start = [], 0
    for i, cell in enumerate(nb.cells):
        if "solution" not in _tags(cell) or cell.cell_type != "code":
            continue
        n = len(found) + 1
        if i + 1 >= len(nb.cells) or "check" not in _tags(nb.cells[i + 1]):
            raise HeaderError(f"{where}: exercise {n}'s solution cell (cell {i}) is not followed by a cell tagged "
                              "'check' that tests the answer.")
        md = [j for j in range(start, i) if nb.cells[j].cell_type == "markdown"]
        if not md:
            raise HeaderError(f"{where}: exercise {n}'s solution cell (cell {i}) has no markdown cell before it "
                              "to state the exercise.")
        found.append((md[-1], i))
        start = i + 2
    return found


def plan(nb, where: str) -> Plan | None:
    """The notebook's :class:`Plan`, ``None`` when it has no exercises; HeaderError when its headers are wrong."""
    cells = exercise_cells(nb, where)
    if not cells:
        return None
    exercises = [parse_exercise(nb.cells[md].source, n, where) for n, (md, _) in enumerate(cells, 1)]
    title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    learn, minutes = parse_title(title.source if title is not None else "", where)
    if minutes < sum(e.minutes for e in exercises):
        raise HeaderError(f"{where}: the title's time (about {minutes} minutes) is less than its exercises' "
                          f"{sum(e.minutes for e in exercises)} minutes; it should add the reading time to them.")
    return Plan(learn, minutes, exercises)
