"""The scripts the CI workflows call, run with the arguments the workflows pass.

changed-stacks runs on a real git repository; the comment script talks HTTP to a local fake of
the GitHub REST API (the issue-comments endpoints, with pagination), so the one-comment-per-stack
rule is checked over the wire.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "scripts" / "ci"
WORKFLOWS = REPO / ".github" / "workflows"


# -- changed-stacks ------------------------------------------------------------------------------------
def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.email", "ci@example.com")
    git(r, "config", "user.name", "ci")
    for rel in ("Pulumi.yaml", "stacks/__main__.py", "stacks/blocks/esd.py", "providers/esd/endpoint.py",
                "policy/__main__.py", "README.md", "aimodels/cli.py", "aimodels/envconfig.py"):
        (r / rel).parent.mkdir(parents=True, exist_ok=True)
        (r / rel).write_text(f"# {rel}\n")
    for stack in ("local", "dev", "staging", "prod"):
        (r / "stacks" / f"Pulumi.{stack}.yaml").write_text(f"config:\n  aimodels:environment: {stack}\n")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    return r


def changed(repo: Path, base: str, head: str = "HEAD") -> list[str]:
    proc = subprocess.run(["bash", str(CI / "changed-stacks.sh"), base, head], cwd=repo, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def commit(repo: Path, edits: dict[str, str | None]) -> str:
    base = git(repo, "rev-parse", "HEAD")
    for rel, text in edits.items():
        path = repo / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "change")
    return base


@pytest.mark.parametrize(("edits", "expected"), [
    ({"stacks/Pulumi.staging.yaml": "config: {aimodels:environment: staging, x: 1}\n"}, ["staging"]),
    ({"stacks/pin-history/prod.yaml": "- id: 1\n"}, ["prod"]),
    ({"stacks/Pulumi.qa.yaml": "config: {aimodels:environment: qa}\n"}, ["qa"]),  # a new environment
    ({"stacks/blocks/esd.py": "# changed\n"}, ["dev", "prod", "staging"]),  # shared program: all but local
    ({"providers/esd/endpoint.py": "# changed\n"}, ["dev", "prod", "staging"]),
    ({"aimodels/envconfig.py": "# changed\n"}, ["dev", "prod", "staging"]),  # the program validates with it
    ({"policy/__main__.py": "# changed\n"}, ["prod"]),
    ({"README.md": "docs\n", "aimodels/cli.py": "# a command, not the program\n"}, []),
    ({"stacks/Pulumi.dev.yaml": None}, []),  # a removed environment previews nothing
    ({"stacks/Pulumi.local.yaml": "config: {}\n"}, []),  # the emulator-only stack is never listed
])
def test_changed_stacks_from_the_paths_a_change_touches(repo: Path, edits: dict[str, str | None],
                                                        expected: list[str]) -> None:
    base = commit(repo, edits)
    assert changed(repo, base) == expected


def test_changed_stacks_first_push_of_a_branch_lists_every_stack(repo: Path) -> None:
    assert changed(repo, "0" * 40) == ["dev", "prod", "staging"]


def test_changed_stacks_bad_revision_is_one_line(repo: Path) -> None:
    proc = subprocess.run(["bash", str(CI / "changed-stacks.sh"), "no-such-rev"], cwd=repo, capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("aimodels.ci changed-stacks: git diff no-such-rev...HEAD failed")
    assert len(proc.stderr.strip().splitlines()) == 1


# -- the one comment per stack --------------------------------------------------------------------------
class FakeGitHub:
    """The issue-comments endpoints of the GitHub REST API, in memory, two comments per page."""

    PAGE = 2

    def __init__(self) -> None:
        self.comments: dict[int, dict[str, Any]] = {}
        self.next_id = 1000
        self.requests: list[tuple[str, str]] = []
        self.token = "ghs_test_token"
        self.fail: int | None = None
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, pr: int, body: str, user: str = "someone") -> int:
        self.next_id += 1
        self.comments[self.next_id] = {"id": self.next_id, "pr": pr, "body": body, "user": {"login": user}}
        return self.next_id

    def on(self, pr: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["pr"] == pr]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _auth(self) -> bool:
                fake.requests.append((self.command, self.path))
                if fake.fail:
                    self._send(fake.fail, {"message": "Resource not accessible by integration"})
                    return False
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._send(401, {"message": "Bad credentials"})
                    return False
                return True

            def _body(self) -> dict[str, Any]:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

            def do_GET(self) -> None:  # noqa: N802
                if not self._auth():
                    return
                m = re.fullmatch(r"/repos/acme/models/issues/(\d+)/comments\?per_page=(\d+)(?:&page=(\d+))?", self.path)
                if not m:
                    return self._send(404, {"message": "Not Found"})
                items = sorted(fake.on(int(m.group(1))), key=lambda c: c["id"])
                page = int(m.group(3) or 1)
                chunk = items[(page - 1) * fake.PAGE: page * fake.PAGE]
                headers = {}
                if page * fake.PAGE < len(items):
                    headers["Link"] = (f'<{fake.url}/repos/acme/models/issues/{m.group(1)}/comments?per_page='
                                       f'{m.group(2)}&page={page + 1}>; rel="next"')
                self._send(200, [{k: v for k, v in c.items() if k != "pr"} for c in chunk], headers)

            def do_POST(self) -> None:  # noqa: N802
                if not self._auth():
                    return
                m = re.fullmatch(r"/repos/acme/models/issues/(\d+)/comments", self.path)
                if not m:
                    return self._send(404, {"message": "Not Found"})
                cid = fake.add(int(m.group(1)), self._body()["body"], user="github-actions[bot]")
                self._send(201, {"id": cid, "body": fake.comments[cid]["body"]})

            def do_PATCH(self) -> None:  # noqa: N802
                if not self._auth():
                    return
                m = re.fullmatch(r"/repos/acme/models/issues/comments/(\d+)", self.path)
                if not m or int(m.group(1)) not in fake.comments:
                    return self._send(404, {"message": "Not Found"})
                fake.comments[int(m.group(1))]["body"] = self._body()["body"]
                self._send(200, {"id": int(m.group(1))})

        return Handler


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    yield fake
    fake.server.shutdown()


def comment(github: FakeGitHub, tmp_path: Path, stack: str, body: str, pr: int = 7,
            token: str | None = None) -> subprocess.CompletedProcess[str]:
    f = tmp_path / f"review-{stack}.md"
    f.write_text(body)
    env = {"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": token or github.token, "GITHUB_API_URL": github.url}
    return subprocess.run(["bash", str(CI / "comment.sh"), "acme/models", str(pr), stack, str(f)], env=env,
                          capture_output=True, text=True, cwd=REPO)


def test_one_comment_per_stack_updated_in_place_across_pushes(github: FakeGitHub, tmp_path: Path) -> None:
    for i in range(3):  # other people's comments fill the first pages
        github.add(7, f"looks good {i}")
    github.add(8, "<!-- aimodels-preview stack=prod -->\nanother PR's comment")
    first = comment(github, tmp_path, "prod", "## preview 1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created comment ")
    [mine] = [c for c in github.on(7) if "aimodels-preview" in c["body"]]
    assert mine["body"] == "<!-- aimodels-preview stack=prod -->\n## preview 1\n"
    github.add(7, "a reply after the bot's comment")  # the marker comment is now on page 2 of 3

    for push in (2, 3):
        again = comment(github, tmp_path, "prod", f"## preview {push}")
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith(f"updated comment {mine['id']} ")
    dev = comment(github, tmp_path, "dev", "## dev preview")
    assert dev.stdout.startswith("created comment ")

    ours = sorted((c["body"].splitlines()[0], c["body"].splitlines()[1]) for c in github.on(7)
                  if "aimodels-preview" in c["body"])
    assert ours == [("<!-- aimodels-preview stack=dev -->", "## dev preview"),
                    ("<!-- aimodels-preview stack=prod -->", "## preview 3")]
    assert len(github.on(7)) == 6  # 4 by people + one per stack
    assert ("GET", "/repos/acme/models/issues/7/comments?per_page=100&page=2") in github.requests  # paged
    assert github.on(8)[0]["body"].endswith("another PR's comment")  # untouched


def test_comment_errors_are_one_line_and_post_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    bad = comment(github, tmp_path, "prod", "x", token="wrong")
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("aimodels.ci comment: GitHub API list comments: GET /repos/acme/models/issues/7/"
                                  "comments -> 401 Bad credentials")
    github.fail = 403
    forbidden = comment(github, tmp_path, "prod", "x")
    assert forbidden.returncode == 1 and "-> 403 Resource not accessible by integration" in forbidden.stderr
    assert github.on(7) == []
    missing = subprocess.run(["bash", str(CI / "comment.sh"), "acme/models", "7", "prod", str(tmp_path / "nope.md")],
                             env={"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": "t", "GITHUB_API_URL": github.url},
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "cannot read" in missing.stderr


# -- the workflows call these scripts, with these arguments -------------------------------------------------
def _runs(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_workflows_call_existing_scripts_and_serialise_applies_per_stack() -> None:
    preview = yaml.safe_load((WORKFLOWS / "preview.yml").read_text())
    apply = yaml.safe_load((WORKFLOWS / "apply.yml").read_text())
    called = set()
    for run in _runs(preview) + _runs(apply):
        for script in re.findall(r"scripts/ci/[\w-]+\.sh", run):
            path = REPO / script
            assert path.is_file() and path.stat().st_mode & 0o111, script
            called.add(script)
    assert called == {"scripts/ci/setup.sh", "scripts/ci/changed-stacks.sh", "scripts/ci/preview.sh",
                      "scripts/ci/comment.sh", "scripts/ci/apply.sh"}
    job = apply["jobs"]["apply"]
    assert job["concurrency"] == {"group": "apply-${{ matrix.stack }}", "cancel-in-progress": False}
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.plan.outputs.stacks) }}"
    assert apply[True]["push"]["branches"] == ["main"]  # YAML reads `on:` as True
    pjob = preview["jobs"]["preview"]
    assert pjob["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.plan.outputs.stacks) }}"
    assert any('changed-stacks.sh "${{ github.event.pull_request.base.sha }}"' in r for r in _runs(preview))
    assert "--init" in (CI / "preview.sh").read_text()  # a PR that adds an environment previews it
