"""`pulsebot goals apply | list`: goals kept as code in a YAML file, and a cycle's tree.

Both need the database and the goal settings only; Slack is asked only for an owner's e-mail
the directory does not know (which then needs SLACK_BOT_TOKEN), as `checkins apply` does.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bot import logs
from bot.cli.common import (
    ConfigError,
    EmailResolver,
    at_argument,
    load_settings,
    parse_at,
    resolve_team,
    sessions,
    settings_from,
    team_argument,
)
from bot.services import goal_files, goal_plans
from bot.services.goal_access import GoalState, Visibility
from bot.services.goal_cycles import BadCycle, parse
from bot.services.goal_files import KnownObjective
from bot.services.goal_progress import Measure, bar
from bot.services.goals import ObjectiveView, ResultView, current_cycle
from bot.settings import GoalSettings
from storage.engine import unit_of_work


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    goals = verbs.add_parser(
        "goals",
        help="goals and key results as code, and a cycle's tree",
        description="Objectives and key results kept as code in a YAML file (apply), and a "
        "cycle's goals as a tree with progress and status (list).",
    )
    goal_verbs = goals.add_subparsers(title="goals commands", metavar="COMMAND", required=True)
    apply_verb = goal_verbs.add_parser(
        "apply",
        help="create or update goals from a YAML file, matched by (cycle, owner, title)",
        description="Create or update the objectives and key results a YAML file describes. "
        "An objective is matched by its cycle, owner and title, a key result by its title "
        "within its objective, so applying the same file again changes nothing. The whole "
        "file is validated first: any error (each names the goal and the field) leaves "
        "everything as it was. Goals missing from the file are left alone, never deleted. "
        "Owners may be user ids or e-mails; an e-mail the directory lacks is looked up in "
        "Slack, which needs SLACK_BOT_TOKEN.",
    )
    apply_verb.add_argument(
        "file", metavar="FILE.yml", help="goals (see the README, Goals as code)"
    )
    apply_verb.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; write nothing"
    )
    at_argument(apply_verb)
    team_argument(apply_verb)
    apply_verb.set_defaults(handler=apply)
    listing = goal_verbs.add_parser(
        "list",
        help="show a cycle's goals as a tree, with progress and status",
        description="Show a cycle's objectives (default: the current cycle), each under the "
        "objective it serves, with its key results, progress, status, stale flags and owners. "
        "Reads the database only.",
    )
    listing.add_argument("--cycle", metavar="CYCLE", help="e.g. 2037-Q1, 2037-H2 or 2037")
    at_argument(listing)
    team_argument(listing)
    listing.set_defaults(handler=list_goals)


def load_goal_settings() -> GoalSettings:
    return settings_from(GoalSettings)


class _RollBack(Exception):
    """Leaves the unit of work by rolling back (a dry run), carrying its report."""

    def __init__(self, report: goal_plans.ApplyReport) -> None:
        super().__init__("dry run")
        self.report = report


def apply(args: argparse.Namespace) -> int:
    settings = load_goal_settings()
    logs.configure(settings.log_level, settings.log_format)
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.file}: can't read the file ({error}); nothing was changed.", file=sys.stderr)
        return 1
    at = parse_at(args.at)
    with sessions(settings) as factory:
        team_id = resolve_team(args, factory, load_settings)
        resolver = EmailResolver(factory, team_id, load_settings)

        def known_in(cycle: str) -> list[KnownObjective]:
            with unit_of_work(factory) as session:
                return goal_plans.known_objectives(session, team_id, cycle)

        try:
            plan = goal_files.load_plan(
                text,
                args.file,
                today=at.date(),
                cycle_kind=settings.goal_cycle,
                resolve_email=resolver,
                known_in=known_in,
            )
        except goal_files.GoalFileError as error:
            for message in error.messages:
                print(message, file=sys.stderr)
            print(f"{args.file}: nothing was changed.", file=sys.stderr)
            return 1
        resolver.save()
        try:
            with unit_of_work(factory) as session:
                report = goal_plans.apply_plan(session, team_id, plan, at)
                if args.dry_run:
                    raise _RollBack(report)
        except _RollBack as dry:
            report = dry.report
    for line in report.changes:
        print(line)
    print(f"{report.cycle}: objectives {report.objectives}; key results {report.key_results}.")
    if report.left_alone:
        print(f"left alone (not in the file): {', '.join(report.left_alone)}")
    if report.results_left_alone:
        print(f"key results left alone (not in the file): {', '.join(report.results_left_alone)}")
    if args.dry_run:
        print("Dry run: nothing was written.")
    return 0


def list_goals(args: argparse.Namespace) -> int:
    settings = load_goal_settings()
    logs.configure(settings.log_level, settings.log_format)
    at = parse_at(args.at)
    try:
        cycle = parse(args.cycle) if args.cycle else current_cycle(at.date(), settings.goal_cycle)
    except BadCycle as error:
        raise ConfigError(f"--cycle: {error}") from None
    with sessions(settings) as factory, unit_of_work(factory) as session:
        teams = [args.team] if args.team else goal_plans.teams_with_goals(session)
        trees = [
            goal_plans.tree(
                session,
                team_id,
                cycle.name,
                now=at,
                today=at.date(),
                stale_days=settings.goal_stale_days,
            )
            for team_id in teams
        ]
    shown = [t for t in trees if t.rows]
    span = f"{_day(cycle.starts_on)} – {_day(cycle.ends_on)}"
    if not shown:
        print(
            f"No goals in {cycle.name} ({span}). Write them in a YAML file and run "
            "`pulsebot goals apply FILE.yml`."
        )
        return 0
    for team_id, goal_tree in zip(teams, trees, strict=True):
        if not goal_tree.rows:
            continue
        count = len(goal_tree.rows)
        where = f" in {team_id}" if len(shown) > 1 else ""
        print(f"{cycle.name} ({span}){where}: {count} objective{'s' if count != 1 else ''}")
        for row in goal_tree.rows:
            for line in describe(row, goal_tree.names):
                print(line)
    return 0


def describe(row: goal_plans.TreeRow, names: dict[str, str]) -> list[str]:
    """An objective's line, then one per key result, indented by its depth in the tree."""
    view = row.view
    indent = "  " * row.depth
    parts = [view.title, view.kind.value, names.get(view.owner_id, view.owner_id)]
    if view.visibility == Visibility.PRIVATE:
        parts.append("private")
    parts += _state(view, row)
    lines = [indent + " · ".join(parts)]
    for result in view.results:
        lines.append(f"{indent}    - {_result(result, names, view)}")
    return lines


def _state(view: ObjectiveView, row: goal_plans.TreeRow) -> list[str]:
    said: list[str] = []
    if view.state == GoalState.CLOSED:
        closed = f"closed: {view.outcome}" if view.outcome else "closed"
        if row.score is not None:
            closed += f", score {row.score:.1f}"
        said.append(closed)
        if view.progress is not None:
            said.append(bar(view.progress))
    else:
        if view.state == GoalState.DRAFT:
            said.append("draft")
        said.append(bar(view.progress))
        if view.status is not None:
            said.append(view.status.label)
        if any(r.stale for r in view.results):
            said.append("stale")
    if row.carried_to:
        said.append(f"carried over to {row.carried_to}")
    if row.carried_from:
        said.append(f"carried over from {row.carried_from}")
    return said


def _result(result: ResultView, names: dict[str, str], objective: ObjectiveView) -> str:
    if result.measure == Measure.MILESTONE:
        numbers = "milestone, done" if result.progress >= 1 else "milestone, not done"
    else:
        unit = f" {result.unit}" if result.unit else ""
        if result.measure == Measure.PERCENT and not result.unit:
            unit = "%"
        numbers = (
            f"{_number(result.start)} → {_number(result.current)} of {_number(result.target)}{unit}"
        )
    parts = [result.title, names.get(result.owner_id, result.owner_id), numbers]
    parts.append(bar(result.progress))
    if objective.state != GoalState.CLOSED:
        parts.append(result.status.label)
        if result.stale:
            parts.append("stale")
    return " · ".join(parts)


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
