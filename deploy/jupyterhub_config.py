"""JupyterHub for the Frameworks Lab course on one machine, with nbgrader's exchange.

Run as root from the environment the course is installed in (see deploy/README.md):

    jupyterhub -f deploy/jupyterhub_config.py

Who may log in is read from two Unix groups when the hub starts: members of
`formgrade-<course>` are the course's instructors, members of `nbgrader-<course>` its
students (add people with `usermod -aG`, as a supplementary group, then restart the hub).
The same names become the hub's groups, which nbgrader's JupyterHubAuthPlugin reads to
decide who takes which course. Users log in with their Unix password (PAM), and each
one's server runs as that user (LocalProcessSpawner), so file permissions keep
students apart.

Settings come from the environment, with defaults for a real install:

    COURSE_ID            the course's id: frameworks-lab (the one in the course's
                         nbgrader_config.py)
    NBGRADER_EXCHANGE    the shared exchange directory: /srv/nbgrader/exchange
    HUB_STATE_DIR        the hub's database and cookie secret: /srv/jupyterhub
    HUB_BIND_URL         the address people open: http://127.0.0.1:8000
    HUB_API_PORT         the hub's own API, on 127.0.0.1: 8081
    PROXY_API_PORT       configurable-http-proxy's API, on 127.0.0.1: 8001
    CHP_COMMAND          configurable-http-proxy: the repository's .cache/npm copy when
                         there is one (the Makefile installs it), else the one on PATH
"""

import grp
import os
import pwd
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub provides get_config when it loads this file)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent  # the environment the hub runs from, nbgrader included

COURSE = os.environ.get("COURSE_ID", "frameworks-lab")
EXCHANGE = Path(os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange"))
STATE = Path(os.environ.get("HUB_STATE_DIR", "/srv/jupyterhub"))
INSTRUCTORS_GROUP = f"formgrade-{COURSE}"
STUDENTS_GROUP = f"nbgrader-{COURSE}"


def members(group):
    """The supplementary members of a Unix group (none if it does not exist)."""
    try:
        return set(grp.getgrnam(group).gr_mem)
    except KeyError:
        return set()


instructors = members(INSTRUCTORS_GROUP)
students = members(STUDENTS_GROUP) - instructors

# ------------------------------------------------------------------ network and state

c.JupyterHub.bind_url = os.environ.get("HUB_BIND_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('HUB_API_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('PROXY_API_PORT', '8001')}"
local_chp = REPO / ".cache" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [
    os.environ.get("CHP_COMMAND")
    or (str(local_chp) if local_chp.exists() else "configurable-http-proxy")
]

STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# ------------------------------------------------------------------ people

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = instructors | students
c.LocalAuthenticator.allowed_groups = {INSTRUCTORS_GROUP, STUDENTS_GROUP}
c.JupyterHub.load_groups = {
    INSTRUCTORS_GROUP: {"users": sorted(instructors)},
    STUDENTS_GROUP: {"users": sorted(students)},
}

# ------------------------------------------------------------------ the users' servers

c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# A server's token may also read its own user's groups: nbgrader's JupyterHubAuthPlugin
# asks the hub which courses (nbgrader-<course>, formgrade-<course>) the user takes.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "read:users:name!user",
    "read:users:groups!user",
]


def is_instructor(spawner):
    return any(group.name == INSTRUCTORS_GROUP for group in spawner.user.groups)


def config_path(spawner):
    """Students get nbgrader's Assignments panel; instructors also get the Formgrader."""
    role = "instructor" if is_instructor(spawner) else "student"
    return os.pathsep.join([str(HERE / "jupyter" / role), str(HERE / "jupyter")])


c.Spawner.environment = {
    "COURSE_ID": COURSE,
    "NBGRADER_EXCHANGE": str(EXCHANGE),
    "JUPYTER_CONFIG_PATH": config_path,
    # nbgrader runs the `alembic` command it installs
    "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
}


def private_home(spawner):
    """Make the user's home readable by its owner only before the server starts.

    A student's home holds their work, an instructor's the course directory with the
    solutions, the hidden tests and the gradebook. Debian's useradd makes homes 0755
    (login.defs: HOME_MODE unset, UMASK 022), which would let every student read them.
    """
    home = Path(pwd.getpwnam(spawner.user.name).pw_dir)
    mode = home.stat().st_mode & 0o7777
    if mode & 0o077:
        spawner.log.warning("Making %s private (mode %o -> %o)", home, mode, mode & ~0o077)
        home.chmod(mode & ~0o077)


c.Spawner.pre_spawn_hook = private_home

# ------------------------------------------------------------------ nbgrader's exchange


def prepare_exchange():
    """The exchange root is writable by all, with the sticky bit (nobody removes or
    renames what another user made there); the course's folder in it is made now, owned
    by the first instructor, so that no student can create it first."""
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    EXCHANGE.chmod(0o1777)
    course = EXCHANGE / COURSE
    if instructors and not course.exists():
        owner = pwd.getpwnam(sorted(instructors)[0])
        course.mkdir(mode=0o755)
        os.chown(course, owner.pw_uid, owner.pw_gid)


if os.geteuid() == 0:
    prepare_exchange()
