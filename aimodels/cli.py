"""``aimodels``: bring environments up, promote what one proved to the next, roll back, review.

    aimodels up --stack dev [--emulator] [--policy | --skip-policy]
    aimodels preview --stack prod [--emulator] [--skip-policy] [-- --diff]
    aimodels refresh --stack dev [--emulator]
    aimodels status [--stack dev --stack prod] [--format table|markdown|json] [--emulator]
    aimodels promote --from dev --to staging [--only pai,fabric] [--dry-run] [--emulator]
    aimodels rollback --stack staging [--dry-run] [--emulator]
    aimodels review --stack staging [--emulator] | aimodels review --preview-json preview.json
    aimodels destroy --stack dev [--emulator]
    aimodels recover --stack dev      (clear the lock a killed run left; then pulumi up)
    aimodels import esd:Role operators <role name> --stack dev [--output adopted.py] [--emulator]

The policy pack (policy/aimodels-policy) runs on every preview, up and review of a prod stack;
``--skip-policy`` skips it, says so on stderr, in the update's message in the stack history and in
the review report. ``--policy`` runs it on any stack.

Exit codes: 0 fine; 1 bad input or refused (one line on stderr, nothing changed); 2 the review
flagged a risk (so CI can block); other codes are Pulumi's own when an up/preview fails.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from aimodels import pins as P
from aimodels import policy as POL
from aimodels import status as ST
from aimodels.envconfig import ConfigProblem, is_prod, namespace_values, validate
from aimodels.pulumi_cli import Project, Pulumi, UserError
from aimodels.review import RISK_EXIT, PolicyResult, render, report_from_preview


def _pulumi(args: argparse.Namespace) -> Pulumi:
    project = Project.find(Path(args.project_dir) if args.project_dir else None)
    return Pulumi(project, emulator=args.emulator, emulator_url=args.emulator_url)


def _say(text: str) -> None:
    print(text, flush=True)


def _stack_values(pulumi: Pulumi, stack: str) -> dict[str, Any]:
    doc = pulumi.project.read_stack_file(stack)
    values = namespace_values(doc)
    if not values:
        raise UserError(f"stack {stack}: {pulumi.project.rel(pulumi.project.stack_file(stack))} has no aimodels:* config")
    try:
        validate(stack, values)
    except ConfigProblem as exc:
        raise UserError(str(exc)) from None
    return values


# -- policy ---------------------------------------------------------------------------------------
def _policy(pulumi: Pulumi, args: argparse.Namespace, stack: str, values: dict[str, Any]) -> tuple[list[str], PolicyResult]:
    """The ``--policy-pack`` arguments for this run and what the review should say about it."""
    extra, given = POL.absolutize(list(getattr(args, "extra", []) or []))
    if hasattr(args, "extra"):
        args.extra = extra
    prod = is_prod(str(values.get("environment") or stack)) or is_prod(stack)
    skip = getattr(args, "skip_policy", False)
    wanted = prod or getattr(args, "policy", False)
    if skip:
        if given:
            raise UserError("--skip-policy and a --policy-pack argument contradict each other")
        if prod:
            print(f"aimodels {args.command}: WARNING: the policy pack is skipped for prod stack {stack} "
                  "(--skip-policy)", file=sys.stderr, flush=True)
        return [], PolicyResult(ran=False, required=prod, skipped=True)
    if not wanted or given:
        return [], PolicyResult(ran=bool(given), required=prod)
    pack = POL.ensure_pack(pulumi.project.root)
    return ["--policy-pack", str(pack)], PolicyResult(ran=True, required=prod)


# -- up / preview / refresh / destroy -------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    pulumi = _pulumi(args)
    values = _stack_values(pulumi, args.stack)
    if pulumi.init(args.stack):
        _say(f"created stack {args.stack}")
    cfg = pulumi.config_file(args.stack)
    policy, result = _policy(pulumi, args, args.stack, values)
    message = ["--message", POL.SKIPPED_MESSAGE] if result.skipped and result.required else []
    return pulumi.stream(["up", "--yes", "--stack", args.stack, *pulumi.config_args(cfg), *policy, *message,
                          *args.extra], "pulumi up")


def cmd_preview(args: argparse.Namespace) -> int:
    pulumi = _pulumi(args)
    values = _stack_values(pulumi, args.stack)
    if pulumi.init(args.stack):  # a new environment previews as all creates, not `unknown stack`
        _say(f"created stack {args.stack}")
    cfg = pulumi.config_file(args.stack)
    policy, _ = _policy(pulumi, args, args.stack, values)
    return pulumi.stream(["preview", "--stack", args.stack, *pulumi.config_args(cfg), *policy, *args.extra],
                         "pulumi preview")


def cmd_refresh(args: argparse.Namespace) -> int:
    pulumi = _pulumi(args)
    pulumi.require_stack(args.stack)
    _stack_values(pulumi, args.stack)
    cfg = pulumi.config_file(args.stack)
    return pulumi.stream(["refresh", "--yes", "--stack", args.stack, *pulumi.config_args(cfg), *args.extra],
                         "pulumi refresh")


def cmd_destroy(args: argparse.Namespace) -> int:
    pulumi = _pulumi(args)
    pulumi.require_stack(args.stack)
    cfg = pulumi.config_file(args.stack)
    return pulumi.stream(["destroy", "--yes", "--stack", args.stack, *pulumi.config_args(cfg), *args.extra],
                         "pulumi destroy")


# -- writing pins --------------------------------------------------------------------------------
def _write_pins(pulumi: Pulumi, stack: str, old: dict[str, Any], new: dict[str, Any], dry_run: bool) -> tuple[str, str]:
    """Apply the pin change to a copy of the stack file with `pulumi config`, validate the copy,
    and (unless dry run) replace the stack file. Returns (new text, unified diff)."""
    project = pulumi.project
    path = project.stack_file(stack)
    before = path.read_text()
    with tempfile.TemporaryDirectory(prefix="aimodels-pins-") as tmp:
        work = Path(tmp) / path.name
        work.write_text(before)
        for platform in P.PLATFORMS:
            sets, removals = P.edits(f"aimodels:{platform}", old.get(platform), new.get(platform))
            for key in removals:
                pulumi.run(["config", "rm", "--path", key, "--stack", stack, "--config-file", str(work)],
                           what=f"pulumi config rm {key}")
            for key, value in sets:  # one at a time: set-all would sort a new item's keys
                pulumi.run(["config", "set", "--path", "--plaintext", key, value, "--stack", stack,
                            "--config-file", str(work)], what=f"pulumi config set {key}")
        after = work.read_text()
    try:
        validate(stack, namespace_values(yaml.safe_load(after)))
    except ConfigProblem as exc:
        raise UserError(f"the new pins would break the config: {exc}") from None
    diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{project.rel(path)}", f"b/{project.rel(path)}"))
    if not dry_run:
        path.write_text(after)
    return after, diff


def _preview_after(pulumi: Pulumi, stack: str, text: str, dry_run: bool) -> int:
    cfg = pulumi.config_file(stack, text if dry_run else None)
    _say(f"\n$ pulumi preview --diff --stack {stack}")
    return pulumi.stream(["preview", "--diff", "--stack", stack, *pulumi.config_args(cfg)], "pulumi preview")


def _describe(pins: dict[str, Any], platforms: list[str]) -> str:
    parts = []
    for platform in ("pai", "fabric"):
        if platform in platforms:
            versions = pins[platform]["versions"]
            current = pins[platform].get("current") or (versions[-1].get("name") if versions else "none")
            parts.append(f"{platform} current {current}")
    if "esd" in platforms and pins["esd"].get("baseModelUrl"):
        parts.append(f"esd base model {pins['esd']['baseModelUrl'].rsplit('/', 1)[-1]}")
    return "; ".join(parts)


def cmd_promote(args: argparse.Namespace) -> int:
    only = [p.strip() for p in (args.only or ",".join(P.PLATFORMS)).split(",") if p.strip()]
    bad = [p for p in only if p not in P.PLATFORMS]
    if bad or not only:
        raise UserError(f"--only takes a comma-separated subset of {','.join(P.PLATFORMS)} (got {args.only!r})")
    if args.source == args.target:
        raise UserError("--from and --to name the same stack")
    pulumi = _pulumi(args)
    known = pulumi.stacks()
    for stack in (args.source, args.target):
        if stack not in known:
            raise UserError(f"unknown stack {stack!r} (known: {', '.join(sorted(known)) or 'none'})")
    target_values = _stack_values(pulumi, args.target)
    source_values = _stack_values(pulumi, args.source)
    if not args.no_refresh:  # gate on what the platforms hold now, not on the last apply's record
        _refresh_quietly(pulumi, args.source)
    found, refusals = P.proven(args.source, pulumi.export(args.source), only,
                               pinned=P.current_pins(source_values))
    old = P.current_pins(target_values)
    new, more = P.promoted(args.target, old, found)
    refusals += more
    if refusals:
        raise UserError(f"refusing to promote {args.source} -> {args.target}: " + "; ".join(map(str, refusals)))
    if new == old:
        _say(f"{args.target} already runs what {args.source} proved ({_describe(new, only)}); nothing to promote")
        return 0
    text, diff = _write_pins(pulumi, args.target, old, new, args.dry_run)
    entry = None
    if not args.dry_run:  # the pins and their history are written together, before anything is printed
        path = P.history_file(pulumi.project.config_dir, args.target)
        entry = P.append_history(path, {"action": "promote", "from": args.source, "only": only,
                                        "before": {p: old[p] for p in only}, "after": {p: new[p] for p in only}})
    _say(f"{'would promote' if args.dry_run else 'promoted'} {args.source} -> {args.target}: {_describe(new, only)}")
    _say(diff.rstrip("\n"))
    if entry:
        _say(f"recorded as entry {entry['id']} in {pulumi.project.rel(path)}")
    if args.no_preview:
        return 0
    return _preview_after(pulumi, args.target, text, args.dry_run)


def cmd_rollback(args: argparse.Namespace) -> int:
    pulumi = _pulumi(args)
    pulumi.require_stack(args.stack)
    values = _stack_values(pulumi, args.stack)
    path = P.history_file(pulumi.project.config_dir, args.stack)
    entries = P.read_history(path)
    entry = P.last_undoable(entries)
    if entry is None:
        raise UserError(f"stack {args.stack}: nothing to roll back ({pulumi.project.rel(path)} has no promotion "
                        "that is not already rolled back)")
    current = P.current_pins(values)
    platforms = list(entry["before"])
    new, drift = P.repointed(current, entry)
    if drift:
        raise UserError(f"stack {args.stack}: the {', '.join(drift)} pointer(s) moved since promotion {entry['id']}; "
                        "repoint by hand instead")
    text, diff = _write_pins(pulumi, args.stack, current, new, args.dry_run)
    done = None
    if not args.dry_run:
        done = P.append_history(path, {"action": "rollback", "undoes": entry["id"],
                                       "before": {p: current[p] for p in platforms},
                                       "after": {p: new[p] for p in platforms}})
    _say(f"{'would roll' if args.dry_run else 'rolled'} {args.stack} back to the pins before promotion "
         f"{entry['id']} (from {entry.get('from')} at {entry.get('at')}): {_describe(new, platforms)}")
    _say(diff.rstrip("\n"))
    if done:
        _say(f"recorded as entry {done['id']} in {pulumi.project.rel(path)}")
    if args.no_preview:
        return 0
    return _preview_after(pulumi, args.stack, text, args.dry_run)


def _refresh_quietly(pulumi: Pulumi, stack: str) -> None:
    """``pulumi refresh`` of ``stack`` (its state then records what the platforms hold); one line out."""
    cfg = pulumi.config_file(stack)
    proc = pulumi.run(["refresh", "--yes", "--skip-preview", "--json", "--stack", stack, *pulumi.config_args(cfg)],
                      check=False)
    if proc.returncode != 0:
        detail = " ".join(((proc.stderr or "") + (proc.stdout or "")).split()[-60:])
        raise UserError(f"pulumi refresh --stack {stack} failed (exit {proc.returncode}), nothing promoted: {detail}")
    _say(f"refreshed {stack} from the platforms (pulumi refresh): the gate reads what they hold now")


# -- status ---------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    pulumi = _pulumi(args)
    known = pulumi.stacks()
    files = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in pulumi.project.config_dir.glob("Pulumi.*.yaml"))
    stacks = args.stack or [s for s in ST.ORDER if s in known and s in files] + \
        sorted(s for s in known if s in files and s not in ST.ORDER)
    if not stacks:
        raise UserError(f"no stacks to show (known: {', '.join(sorted(known)) or 'none'})")
    rows = []
    for stack in stacks:
        if stack not in known:
            raise UserError(f"unknown stack {stack!r} (known: {', '.join(sorted(known)) or 'none'})")
        values = _stack_values(pulumi, stack)
        cfg = pulumi.config_file(stack)
        proc = pulumi.run(["refresh", "--preview-only", "--json", "--stack", stack, *pulumi.config_args(cfg)],
                          check=False)
        try:
            live = ST.live_resources(proc.stdout)
        except ValueError:
            raise UserError(f"pulumi refresh --preview-only --stack {stack} failed (exit {proc.returncode}): "
                            f"{' '.join(((proc.stderr or '') + (proc.stdout or '')).split()[-60:])}") from None
        pinned = P.current_pins(values)
        pinned["esd"].setdefault("baseModelUrl", validate(stack, values).esd.base_model_url)  # the schema default
        rows += ST.rows(stack, pinned, live)
    out = {"table": ST.table, "markdown": ST.markdown, "json": ST.as_json}[args.format](rows)
    sys.stdout.write(out)
    return 0


# -- review ---------------------------------------------------------------------------------------
def cmd_review(args: argparse.Namespace) -> int:
    if args.preview_json:
        try:
            raw = sys.stdin.read() if args.preview_json == "-" else Path(args.preview_json).read_text()
            preview = json.loads(raw)
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read a `pulumi preview --json` document from {args.preview_json}: {exc}") from None
        stack = args.stack
    else:
        if not args.stack:
            raise UserError("review needs --stack or --preview-json")
        pulumi = _pulumi(args)
        if args.init:  # CI on a pull request that adds an environment
            if pulumi.init(args.stack):
                print(f"aimodels review: created stack {args.stack}", file=sys.stderr)
        else:
            pulumi.require_stack(args.stack)
        values = _stack_values(pulumi, args.stack)
        cfg = pulumi.config_file(args.stack)
        policy_args, policy = _policy(pulumi, args, args.stack, values)
        with tempfile.TemporaryDirectory(prefix="aimodels-review-") as tmp:
            events = Path(tmp) / "events.jsonl"
            # --event-log is one of the CLI's debug flags (as the Automation API uses it).
            proc = pulumi.run(["preview", "--json", "--stack", args.stack, *pulumi.config_args(cfg), *policy_args,
                               "--event-log", str(events)], check=False, env={"PULUMI_DEBUG_COMMANDS": "true"})
            policy.events = POL.policy_events(events)
        try:
            preview = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise UserError(f"pulumi preview failed (exit {proc.returncode}): "
                            f"{' '.join((proc.stderr or proc.stdout).split()[-60:])}") from None
        stack = args.stack
        if args.save_json:
            Path(args.save_json).write_text(json.dumps(preview, indent=2) + "\n")
    deployment = pulumi.export(args.stack) if not args.preview_json else None
    report = report_from_preview(preview, stack=stack, deployment=deployment,
                                 policy=None if args.preview_json else policy)
    text = render(report)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    if report.errors:
        return 1
    return RISK_EXIT if report.risks and not args.no_fail else 0


def cmd_import(args: argparse.Namespace) -> int:
    from aimodels.importer import run_import

    pulumi = _pulumi(args)
    pulumi.require_stack(args.stack)
    code = run_import(pulumi, args.stack, args.type, args.name, args.id,
                      pulumi.config_args(pulumi.config_file(args.stack)))
    if args.output:
        Path(args.output).write_text(code)
        _say(f"imported {args.name}; its declaration is in {args.output}")
    else:
        sys.stdout.write(code)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aimodels", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project-dir", help="directory holding Pulumi.yaml (default: found from the cwd)")
    common.add_argument("--emulator", action="store_true",
                        default=os.environ.get("AIMODELS_TARGET") == "emulator",
                        help="run against the emulator (AIMODELS_EMULATOR_URL, default http://127.0.0.1:8787) "
                             "through a generated config overlay; the stack file is not touched")
    common.add_argument("--emulator-url", help="emulator base URL (implies nothing without --emulator)")
    sub = parser.add_subparsers(dest="command", required=True)

    policy = argparse.ArgumentParser(add_help=False)
    policy.add_argument("--skip-policy", action="store_true",
                        help="do not run the policy pack on a prod stack (recorded: stderr, update message, review)")
    policy.add_argument("--policy", action="store_true", help="run the policy pack on a non-prod stack too")

    up = sub.add_parser("up", parents=[common, policy], help="create the stack if needed and run pulumi up")
    up.add_argument("--stack", required=True)
    up.add_argument("extra", nargs="*", help="after --: passed to pulumi up (e.g. -- --diff)")
    up.set_defaults(func=cmd_up)

    preview = sub.add_parser("preview", parents=[common, policy], help="pulumi preview (creates a missing stack; "
                                                                       "e.g. -- --diff)")
    preview.add_argument("--stack", required=True)
    preview.add_argument("extra", nargs="*", help="after --: passed to pulumi preview")
    preview.set_defaults(func=cmd_preview)

    refresh = sub.add_parser("refresh", parents=[common], help="pulumi refresh: the state reads the platforms")
    refresh.add_argument("--stack", required=True)
    refresh.add_argument("extra", nargs="*", help="after --: passed to pulumi refresh")
    refresh.set_defaults(func=cmd_refresh)

    status = sub.add_parser("status", parents=[common], help="environments x platforms, read live")
    status.add_argument("--stack", action="append", help="a stack to show (repeatable; default: every stack "
                                                         "with a stack file)")
    status.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    status.set_defaults(func=cmd_status)

    destroy = sub.add_parser("destroy", parents=[common], help="pulumi destroy")
    destroy.add_argument("--stack", required=True)
    destroy.add_argument("extra", nargs="*", help="after --: passed to pulumi destroy (e.g. -- --skip-preview)")
    destroy.set_defaults(func=cmd_destroy)

    promote = sub.add_parser("promote", parents=[common], help="pin in the target what the source proved")
    promote.add_argument("--from", dest="source", required=True)
    promote.add_argument("--to", dest="target", required=True)
    promote.add_argument("--only", help=f"comma-separated subset of {','.join(P.PLATFORMS)} (default: all)")
    promote.add_argument("--dry-run", action="store_true", help="print the config diff and the preview, write nothing")
    promote.add_argument("--no-preview", action="store_true", help="skip pulumi preview --diff")
    promote.add_argument("--no-refresh", action="store_true",
                         help="gate on the source's recorded state without refreshing it from the platforms first")
    promote.set_defaults(func=cmd_promote)

    rollback = sub.add_parser("rollback", parents=[common], help="repoint to the pins before the last promotion")
    rollback.add_argument("--stack", required=True)
    rollback.add_argument("--dry-run", action="store_true")
    rollback.add_argument("--no-preview", action="store_true")
    rollback.set_defaults(func=cmd_rollback)

    # `aimodels recover` lives in aimodels/recover.py and registers its own subcommand.
    from aimodels import recover as recover_command

    recover_command.register(sub, common)

    review = sub.add_parser("review", parents=[common, policy], help="Markdown review of a preview, with risk "
                                                                     "flags and the policy pack's results")
    review.add_argument("--stack", help="preview this stack now")
    review.add_argument("--init", action="store_true", help="create the stack when it is missing (CI: a pull "
                                                            "request that adds an environment)")
    review.add_argument("--preview-json", help="a saved `pulumi preview --json` document ('-' for stdin)")
    review.add_argument("--save-json", help="also save the preview document here")
    review.add_argument("--output", "-o", help="write the Markdown here instead of stdout")
    review.add_argument("--no-fail", action="store_true", help="exit 0 even when risks are flagged")
    review.set_defaults(func=cmd_review)

    adopt = sub.add_parser("import", parents=[common], help="adopt an existing object and write its declaration")
    adopt.add_argument("type", help="<platform>:<Kind>, e.g. esd:Role (or pulumi-python:dynamic/esd:Role)")
    adopt.add_argument("name", help="the resource name in the stack")
    adopt.add_argument("id", help="the import id (docs/reference/<platform>.md, Lifecycle)")
    adopt.add_argument("--stack", required=True)
    adopt.add_argument("--output", "-o", help="write the declaration here instead of stdout")
    adopt.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"aimodels {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into head: the work is done, only the printing stopped
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
