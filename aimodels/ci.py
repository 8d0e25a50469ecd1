"""What the CI workflows (.github/workflows/) call; each step is a plain command that runs anywhere.

    python -m aimodels.ci changed-stacks --base <sha> --head <sha>      # JSON list, for a job matrix
    python -m aimodels.ci comment --repo owner/name --pr 12 --stack prod --body-file review-prod.md

``changed-stacks``: the stacks a change touches, from the paths ``git diff --name-status`` lists
between the two commits:

- ``stacks/Pulumi.<env>.yaml`` (added or changed) and ``stacks/pin-history/<env>.yaml``: that stack;
- shared program files (the program, its blocks and assets, the providers, the environment schema
  the program validates with, Pulumi.yaml, pyproject.toml, requirements.lock, the provider
  launchers): every stack that has a stack file at ``head``;
- the policy pack (policy/, aimodels/policy_rules.py): every prod stack.

A base of all zeros (the first push of a branch) lists every stack. A deleted stack file previews nothing (its stack is left for a person to destroy). Stacks in
``--exclude`` (default: ``local``, the emulator-only stack) are never listed.

``comment``: one pull-request comment per stack, updated in place. The comment carries a hidden
marker ``<!-- aimodels-preview stack=<stack> -->``; the command lists the pull request's comments
(GitHub REST API, every page), edits the one with its marker, or creates it when there is none.
It reads ``GITHUB_TOKEN`` and ``GITHUB_API_URL`` (default https://api.github.com), as a workflow
provides them.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from aimodels.envconfig import is_prod

SHARED = ("stacks/__main__.py", "stacks/blocks/*", "stacks/assets/*", "providers/*", "aimodels/envconfig.py",
          "Pulumi.yaml", "Pulumi.yml", "pyproject.toml", "requirements.lock", "scripts/launchers/*")
POLICY = ("policy/*", "aimodels/policy_rules.py")
STACK_FILE = re.compile(r"^stacks/Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$")
PIN_HISTORY = re.compile(r"^stacks/pin-history/([A-Za-z0-9_.-]+)\.ya?ml$")
MARKER = "<!-- aimodels-preview stack={stack} -->"


class CIError(Exception):
    pass


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def changed_paths(repo: Path, base: str, head: str) -> list[tuple[str, str]]:
    """``(status letter, path)`` for every path that differs; a rename is a delete and an add."""
    proc = subprocess.run(["git", "-C", str(repo), "diff", "--name-status", "--no-renames", f"{base}...{head}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise CIError(f"git diff {base}...{head} failed: {' '.join(proc.stderr.split())}")
    out = []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            out.append((parts[0][:1], parts[-1]))
    return out


def stacks_at(repo: Path, head: str) -> list[str]:
    proc = subprocess.run(["git", "-C", str(repo), "ls-tree", "--name-only", head, "stacks/"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise CIError(f"git ls-tree {head} failed: {' '.join(proc.stderr.split())}")
    return sorted(m.group(1) for line in proc.stdout.splitlines() if (m := STACK_FILE.match(line.strip())))


def changed_stacks(changes: list[tuple[str, str]], existing: list[str], exclude: set[str]) -> list[str]:
    out: set[str] = set()
    for status, path in changes:
        if m := STACK_FILE.match(path):
            if status != "D":
                out.add(m.group(1))
        elif m := PIN_HISTORY.match(path):
            out.add(m.group(1))
        elif _matches(path, SHARED):
            out.update(existing)
        elif _matches(path, POLICY):
            out.update(s for s in existing if is_prod(s))
    return sorted(s for s in out if s in existing and s not in exclude)


# -- the pull-request comment -------------------------------------------------------------------------
def upsert_comment(api: str, token: str, repo: str, pr: int, stack: str, body: str,
                   client: httpx.Client | None = None) -> tuple[str, int]:
    """Create or edit the stack's comment; returns ("created" | "updated", comment id)."""
    marker = MARKER.format(stack=stack)
    text = f"{marker}\n{body.rstrip()}\n"
    own = client is None
    client = client or httpx.Client(timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    try:
        url: str | None = f"{api.rstrip('/')}/repos/{repo}/issues/{pr}/comments?per_page=100"
        found = None
        while url and found is None:
            r = client.get(url, headers=headers)
            _check(r, "list comments")
            found = next((c for c in r.json() if marker in (c.get("body") or "")), None)
            url = r.links.get("next", {}).get("url")
        if found is not None:
            r = client.patch(f"{api.rstrip('/')}/repos/{repo}/issues/comments/{found['id']}", headers=headers,
                             json={"body": text})
            _check(r, "edit comment")
            return "updated", int(found["id"])
        r = client.post(f"{api.rstrip('/')}/repos/{repo}/issues/{pr}/comments", headers=headers, json={"body": text})
        _check(r, "create comment")
        return "created", int(r.json()["id"])
    except httpx.HTTPError as exc:
        raise CIError(f"GitHub API: {exc}") from None
    finally:
        if own:
            client.close()


def _check(r: httpx.Response, what: str) -> None:
    if r.status_code >= 300:
        try:
            message: Any = r.json().get("message")
        except ValueError:
            message = r.text[:200]
        raise CIError(f"GitHub API {what}: {r.request.method} {r.request.url.path} -> {r.status_code} {message}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aimodels.ci", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cs = sub.add_parser("changed-stacks", help="the stacks a change touches, as a JSON list")
    cs.add_argument("--base", required=True)
    cs.add_argument("--head", default="HEAD")
    cs.add_argument("--repo-dir", type=Path, default=Path("."))
    cs.add_argument("--exclude", default="local", help="comma-separated stacks never listed (default: local)")
    cm = sub.add_parser("comment", help="create or update the stack's pull-request comment")
    cm.add_argument("--repo", required=True, help="owner/name")
    cm.add_argument("--pr", type=int, required=True)
    cm.add_argument("--stack", required=True)
    cm.add_argument("--body-file", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "changed-stacks":
            exclude = {s.strip() for s in args.exclude.split(",") if s.strip()}
            existing = stacks_at(args.repo_dir, args.head)
            if re.fullmatch(r"0+", args.base):  # a push that created the branch: no base to compare
                stacks = [s for s in existing if s not in exclude]
            else:
                stacks = changed_stacks(changed_paths(args.repo_dir, args.base, args.head), existing, exclude)
            print(json.dumps(stacks))
            return 0
        token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
        if not token:
            raise CIError("GITHUB_TOKEN is not set")
        try:
            body = args.body_file.read_text()
        except OSError as exc:
            raise CIError(f"cannot read {args.body_file}: {exc}") from None
        action, comment_id = upsert_comment(os.environ.get("GITHUB_API_URL") or "https://api.github.com", token,
                                            args.repo, args.pr, args.stack, body)
        print(f"{action} comment {comment_id} for stack {args.stack} on {args.repo}#{args.pr}")
        return 0
    except CIError as exc:
        print(f"aimodels.ci {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
