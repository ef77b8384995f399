"""The course on a JupyterHub (deploy/jupyterhub_config.py), one whole assignment cycle.

As root, the test creates an instructor and two students as Unix users (in the Unix
groups the hub reads its roster from), starts the hub with the project's configuration
on free ports of 127.0.0.1, and starts each user's own server through the hub's REST
API. Everyone then does what they would do in JupyterLab, through the REST endpoints
that nbgrader's panels call on their own server (so every nbgrader step runs as that
user, with that user's permissions):

    instructor  Formgrader: generate and release assignment 01
    students    Assignments panel: fetch it; write answers (Contents API, as saving
                does); submit (student A the instructor's solution, B one part of it)
    instructor  Formgrader: collect, autograde each, generate and release feedback
    students    Assignments panel: fetch feedback

It checks the scores in the instructor's gradebook (A every point, B some but not all),
that each student's feedback page arrived in their home, and that a student cannot
reach another's work or the instructor's files: B's token does not open A's server, and
B's processes (run with B's uid and groups, as anything B runs on the hub is) can list
neither the exchange's inbound nor its feedback folder, nor read A's home or the
instructor's course directory (solutions, hidden tests, gradebook).

Users, groups, the hub and every process of the test users are removed at the end,
whatever happened. Without root (or useradd, or configurable-http-proxy) the test is
skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HUB_CONFIG = REPO / "deploy" / "jupyterhub_config.py"
COURSE_SOURCE = REPO / "notebooks" / "assignments"
ASSIGNMENT = "01_minigrad_ops"
PARTIAL = ["softplus"]  # the parts student B answers (3 of the 10 points)
BIN = Path(sys.executable).parent
CHP = REPO / ".cache" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = secrets.token_urlsafe(12)  # every test user's Unix password
TIMEOUT = 240  # seconds for any one step (autograding imports PyTorch)


def require(ok, why):
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run under CI: {why}")
    pytest.skip(why)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, check=True, **kwargs):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kwargs)


def as_user(user, shell_command):
    """Run a shell command with the user's uid, gid and groups."""
    return run("runuser", "-u", user, "--", "sh", "-c", shell_command, check=False)


# ------------------------------------------------------------------ the venv, reachable

ACL = "system.posix_acl_access"


def traverse_acl(mode, uids):
    """A POSIX ACL (the kernel's xattr format) that keeps `mode` and lets `uids` pass."""
    undefined = 0xFFFFFFFF
    entries = [(0x01, (mode >> 6) & 7, undefined)]  # owner
    entries += [(0x02, 1, uid) for uid in sorted(uids)]  # named users: --x
    entries += [(0x04, (mode >> 3) & 7, undefined),  # owning group
                (0x10, ((mode >> 3) & 7) | 1, undefined),  # mask
                (0x20, mode & 7, undefined)]  # others
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def let_users_reach_python(users):
    """The users' servers run this environment's Python; if it lies under a folder they
    cannot enter (pyenv in root's home), let these users (and nobody else) pass through
    it until the test ends. Returns what to restore: [(folder, mode)]."""
    uids = [pwd.getpwnam(u).pw_uid for u in users]
    folders = set()
    for target in (Path(sys.executable).resolve(), BIN.resolve(), REPO.resolve()):
        folders.update(p for p in target.parents if not os.stat(p).st_mode & 0o001)
    granted = []
    for folder in sorted(folders):
        if ACL in os.listxattr(folder):
            raise RuntimeError(f"{folder} already has an ACL; make it traversable by others")
        mode = os.stat(folder).st_mode & 0o7777
        os.setxattr(folder, ACL, traverse_acl(mode, uids))
        granted.append((folder, mode))
    return granted


def restore(granted):
    for folder, mode in granted:
        os.removexattr(folder, ACL)
        os.chmod(folder, mode)


# ------------------------------------------------------------------ notebooks


def nbgrader_id(cell):
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def answered(student_nb, source_nb, parts=None):
    """The student's notebook with the instructor's solution in the given parts (all
    when None), as a student would type it (without nbgrader's solution markers)."""
    solutions = {nbgrader_id(c): c for c in source_nb["cells"]
                 if c["metadata"].get("nbgrader", {}).get("solution")}
    for cell in student_nb["cells"]:
        part = nbgrader_id(cell)
        if part in solutions and (parts is None or part in parts):
            lines = "".join(solutions[part]["source"]).splitlines()
            cell["source"] = "\n".join(line for line in lines if line.strip() not in
                                       ("### BEGIN SOLUTION", "### END SOLUTION"))
    return student_nb


# ------------------------------------------------------------------ the hub


class Hub:
    def __init__(self, url, token):
        import requests

        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        self.tokens = {}

    def api(self, method, path, expect=(200,), **kwargs):
        r = self.session.request(method, f"{self.url}/hub/api{path}", timeout=30, **kwargs)
        assert r.status_code in expect, f"{method} /hub/api{path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def on_server(self, user, method, path, as_user=None, expect=(200, 201), **kwargs):
        """A request to `user`'s server with `as_user`'s token (by default the owner's)."""
        import requests

        token = self.tokens[as_user or user]
        r = requests.request(method, f"{self.url}/user/{user}/{path}", timeout=TIMEOUT,
                             headers={"Authorization": f"token {token}"}, **kwargs)
        if expect is None:
            return r
        assert r.status_code in expect, f"{method} {user}/{path}: {r.status_code} {r.text[:2000]}"
        return r.json() if r.content else None

    def login(self, user, password):
        """Log in on the hub's login page as a person would; True if it let them in."""
        import requests

        browser = requests.Session()
        browser.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        r = browser.post(f"{self.url}/hub/login", allow_redirects=False, timeout=30, data={
            "username": user, "password": password, "_xsrf": browser.cookies.get("_xsrf")})
        return r.status_code == 302 and "jupyterhub-hub-login" in browser.cookies

    def start_servers(self, users):
        for user in users:
            self.api("POST", f"/users/{user}/server", expect=(201, 202))
            self.tokens[user] = self.api(
                "POST", f"/users/{user}/tokens", expect=(201,),
                json={"scopes": [f"access:servers!user={user}"], "note": "course test",
                      "expires_in": 3600})["token"]
        deadline = time.monotonic() + TIMEOUT
        for user in users:
            while True:
                server = self.api("GET", f"/users/{user}")["servers"].get("", {})
                if server.get("ready"):
                    break
                assert server, f"{user}'s server stopped while starting (see the hub's log)"
                assert time.monotonic() < deadline, f"{user}'s server did not start"
                time.sleep(0.5)

    # nbgrader's panels
    def formgrader(self, instructor, action, *ids):
        result = self.on_server(instructor, "POST", "formgrader/api/" + "/".join(
            ["assignment" if action != "autograde" else "submission", *ids, action]))
        assert result["success"], f"formgrader {action} {ids}: {result}"
        return result

    def assignments(self, student, action, course):
        result = self.on_server(student, "POST", f"assignments/{action}",
                                data={"course_id": course, "assignment_id": ASSIGNMENT})
        assert result["success"], f"{action} as {student}: {result}"
        return result["value"]


@pytest.fixture
def course_hub():
    require(os.geteuid() == 0, "the hub test creates Unix users and runs JupyterHub as root "
            "(run `make test` as root, e.g. in a container)")
    require(all(shutil.which(t) for t in ("useradd", "userdel", "groupadd", "chpasswd", "runuser")),
            "useradd, groupadd and runuser are needed")
    require(
        CHP.exists() or shutil.which("configurable-http-proxy"),
        "configurable-http-proxy is needed: "
        "npm install --prefix .cache/npm configurable-http-proxy",
    )
    require((BIN / "jupyterhub").exists(), "JupyterHub is not installed in this environment")

    tag = secrets.token_hex(3)
    course = f"fl-test-{tag}"
    users = {"instructor": f"fl{tag}-teach", "a": f"fl{tag}-ann", "b": f"fl{tag}-bob",
             "outsider": f"fl{tag}-eve"}  # a user of the machine who does not take the course
    groups = [f"formgrade-{course}", f"nbgrader-{course}"]
    base = Path(tempfile.mkdtemp(prefix="fl-hub-"))
    base.chmod(0o755)
    (base / "home").mkdir(mode=0o755)
    state = base / "state"
    state.mkdir(mode=0o700)
    made_users, granted, hub, log = [], [], None, None
    try:
        for group in groups:
            run("groupadd", group)
        for role, user in users.items():
            group = {"instructor": groups[0], "outsider": []}.get(role, groups[1])
            run("useradd", "--create-home", "--base-dir", str(base / "home"),
                *(["--groups", group] if group else []), "--shell", "/bin/bash", user)
            made_users.append(user)
            run("chpasswd", input=f"{user}:{PASSWORD}\n")
        granted = let_users_reach_python(made_users)

        # the instructor's course directory: a copy of the project's course
        teacher = pwd.getpwnam(users["instructor"])
        course_dir = Path(teacher.pw_dir) / course
        shutil.copytree(
            COURSE_SOURCE,
            course_dir,
            ignore=shutil.ignore_patterns(
                "release",
                "submitted",
                "autograded",
                "feedback",
                "gradebook.db",
                ".ipynb_checkpoints",
            ),
        )
        with open(course_dir / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.CourseDirectory.course_id = {course!r}  # the test's own course\n")
        run("chown", "-R", f"{teacher.pw_uid}:{teacher.pw_gid}", str(course_dir))

        token = secrets.token_hex(32)
        config = state / "jupyterhub_test_config.py"
        config.write_text(
            f"c = get_config()\n"
            f"load_subconfig({str(HUB_CONFIG)!r})\n"
            f"c.JupyterHub.services = [{{'name': 'course-test', 'api_token': {token!r}}}]\n"
            f"c.JupyterHub.load_roles = [{{'name': 'course-test', 'services': ['course-test'],\n"
            f"    'scopes': ['admin:users', 'admin:servers', 'tokens', 'list:users',\n"
            f"               'list:groups', 'read:groups']}}]\n"
            f"c.Spawner.http_timeout = {TIMEOUT}\n"
            f"c.Spawner.start_timeout = {TIMEOUT}\n"
        )
        port = free_port()
        env = dict(os.environ, COURSE_ID=course, NBGRADER_EXCHANGE=str(base / "exchange"),
                   HUB_STATE_DIR=str(state), HUB_BIND_URL=f"http://127.0.0.1:{port}",
                   HUB_API_PORT=str(free_port()), PROXY_API_PORT=str(free_port()))
        log = open(state / "jupyterhub.log", "w")
        hub = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=state, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        client = Hub(f"http://127.0.0.1:{port}", token)
        deadline = time.monotonic() + 60
        while True:
            assert hub.poll() is None, (
                "the hub exited:\n" + (state / "jupyterhub.log").read_text()[-5000:]
            )
            try:
                client.api("GET", "/users")
                break
            except Exception:
                assert time.monotonic() < deadline, "the hub did not answer in 60 s"
                time.sleep(0.5)
        yield client, course, users, base, course_dir
    except BaseException:
        if log is not None:
            log.flush()
            print((state / "jupyterhub.log").read_text()[-8000:])
        raise
    finally:
        if hub is not None:
            stop_process_group(hub)
        if log is not None:
            log.close()
        for user in made_users:
            kill_processes_of(pwd.getpwnam(user).pw_uid)
            run("userdel", "--remove", user, check=False)
        for group in groups:
            run("groupdel", group, check=False)
        restore(granted)
        shutil.rmtree(base, ignore_errors=True)


def stop_process_group(proc):
    """The hub stops its users' servers on SIGTERM; then its group (proxy) goes too."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def kill_processes_of(uid):
    """Whatever a test user still runs (a server, a kernel), by process id."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass


# ------------------------------------------------------------------ the cycle


def test_assignment_cycle_on_the_hub(course_hub):
    hub, course, users, base, course_dir = course_hub
    teacher, ann, bob, eve = users["instructor"], users["a"], users["b"], users["outsider"]
    started = time.monotonic()
    # PAM: the course's people log in with their Unix password, nobody else does
    assert hub.login(ann, PASSWORD) and hub.login(teacher, PASSWORD)
    assert not hub.login(bob, PASSWORD + "x"), "a wrong password let a student in"
    assert not hub.login(eve, PASSWORD), "a user outside the course's groups got in"

    hub.start_servers([teacher, ann, bob])
    groups = {g["name"]: sorted(g["users"]) for g in hub.api("GET", "/groups")}
    assert groups == {f"formgrade-{course}": [teacher], f"nbgrader-{course}": sorted([ann, bob])}

    # the instructor releases the assignment (Formgrader: Generate, Release)
    hub.formgrader(teacher, "assign", ASSIGNMENT)
    hub.formgrader(teacher, "release", ASSIGNMENT)

    # the students fetch it, answer and submit (Assignments panel; saving = Contents API)
    source_nb = json.loads(
        (COURSE_SOURCE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    )
    notebook_path = f"api/contents/{course}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    for student, parts in [(ann, None), (bob, PARTIAL)]:
        listed = hub.assignments(student, "fetch", course)
        assert any(a["assignment_id"] == ASSIGNMENT and a["status"] == "fetched" for a in listed), (
            listed
        )
        fetched = hub.on_server(student, "GET", notebook_path)["content"]
        assert "### BEGIN HIDDEN TESTS" not in json.dumps(fetched)
        hub.on_server(student, "PUT", notebook_path, json={
            "type": "notebook", "format": "json", "content": answered(fetched, source_nb, parts)})
        listed = hub.assignments(student, "submit", course)
        assert any(
            a["assignment_id"] == ASSIGNMENT and a["status"] == "submitted" for a in listed
        ), listed

    # the instructor collects, autogrades, and hands out feedback (Formgrader)
    hub.formgrader(teacher, "collect", ASSIGNMENT)
    for student in (ann, bob):
        hub.formgrader(teacher, "autograde", ASSIGNMENT, student)
    hub.formgrader(teacher, "generate_feedback", ASSIGNMENT)
    hub.formgrader(teacher, "release_feedback", ASSIGNMENT)

    # scores, from the instructor's gradebook as the Formgrader shows them
    scores = {s["student"]: (s["score"], s["max_score"])
              for s in hub.on_server(teacher, "GET", f"formgrader/api/submissions/{ASSIGNMENT}")}
    points = {nbgrader_id(c): c["metadata"]["nbgrader"]["points"] for c in source_nb["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade")}
    max_score = sum(points.values())
    partial = sum(p for test, p in points.items() if test.split("_")[0] in PARTIAL)
    assert scores[ann] == (max_score, max_score), scores
    assert 0 < partial < max_score and scores[bob] == (partial, max_score), scores

    # the students fetch their feedback: an HTML page in their home, with their score
    for student in (ann, bob):
        hub.assignments(student, "fetch_feedback", course)
        folder = f"api/contents/{course}/{ASSIGNMENT}/feedback"
        (submission,) = hub.on_server(student, "GET", folder)["content"]
        page = f"{submission['path']}/{ASSIGNMENT}.html"
        assert (Path(pwd.getpwnam(student).pw_dir) / page).is_file()
        html = hub.on_server(student, "GET", f"api/contents/{page}")["content"]
        assert f"{ASSIGNMENT} (Score: {float(scores[student][0])} / {float(max_score)})" in html

    # nobody reaches what is not theirs
    assert hub.on_server(ann, "GET", "api/contents", as_user=bob, expect=None).status_code == 403
    exchange = base / "exchange" / course
    home = {u: Path(pwd.getpwnam(u).pw_dir) for u in users.values()}
    denied = {
        "the exchange's inbound (everyone's submissions)": f"ls {exchange / 'inbound'}",
        "the exchange's feedback folder": f"ls {exchange / 'feedback'}",
        "A's copy of the assignment":
            f"cat {home[ann] / course / ASSIGNMENT / (ASSIGNMENT + '.ipynb')}",
        "the instructor's source (hidden tests)":
            f"cat {course_dir / 'source' / ASSIGNMENT / (ASSIGNMENT + '.ipynb')}",
        "the instructor's gradebook": f"cat {course_dir / 'gradebook.db'}",
        "A's submission as collected": f"ls {course_dir / 'submitted' / ann}",
    }
    for what, command in denied.items():
        result = as_user(bob, command)
        assert result.returncode != 0 and "Permission denied" in result.stderr, \
            f"student B could reach {what}: {command}\n{result.stdout[:500]}"
    # ...while what B may see works the same way
    assert (
        as_user(bob, f"cat {home[bob] / course / ASSIGNMENT / (ASSIGNMENT + '.ipynb')}").returncode
        == 0
    )
    print(f"assignment cycle on the hub: {time.monotonic() - started:.0f} s after the hub started")
