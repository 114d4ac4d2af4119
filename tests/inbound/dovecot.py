"""A private Dovecot IMAP server for tests: its own config, one passwd-file user, plaintext login
on 127.0.0.1 on a free port, nothing outside the test's folders.

Run as root (CI), Dovecot will not run its login or mail processes as root: they run as the
`dovenull` and `dovecot` users Debian's package creates, and the passwd file and the mail folder
live in a temporary directory those users may enter (pytest's own folders are private to root).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "inbox", "imap-secret"


def available() -> bool:
    return os.path.exists(DOVECOT)


class Dovecot:
    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.host = "127.0.0.1"
        self._process: subprocess.Popen[bytes] | None = None
        self._mail_dir = tempfile.TemporaryDirectory(prefix="inbox-dovecot-mail-")

    def _identity(self) -> dict[str, str]:
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.getuid())
            group = grp.getgrgid(os.getgid()).gr_name
            return {"internal": me.pw_name, "group": group, "login": me.pw_name,
                    "uid": str(me.pw_uid), "gid": str(me.pw_gid)}  # fmt: skip
        mail = pwd.getpwnam("dovecot")
        return {"internal": "dovecot", "group": "dovecot", "login": "dovenull",
                "uid": str(mail.pw_uid), "gid": str(mail.pw_gid)}  # fmt: skip

    def start(self) -> None:
        who = self._identity()
        base = self.folder / "run"
        base.mkdir(parents=True)
        (self.folder / "state").mkdir()
        shared = Path(self._mail_dir.name)
        os.chmod(shared, 0o711)
        home = shared / "home"
        home.mkdir()
        if os.geteuid() == 0:
            os.chown(home, int(who["uid"]), int(who["gid"]))
        users = shared / "users"
        users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        os.chmod(users, 0o644)
        config = self.folder / "dovecot.conf"
        config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}
state_dir = {self.folder / "state"}
log_path = {self.folder / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {who["internal"]}
default_internal_group = {who["group"]}
default_login_user = {who["login"]}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={who["uid"]} gid={who["gid"]} home={home}/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with self.mailbox():
                    return
            except Exception:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    log_file = self.folder / "dovecot.log"
                    log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                    self.stop()
                    raise RuntimeError(f"Dovecot did not start:\n{log}") from None
                time.sleep(0.1)

    def mailbox(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.host, self.port, timeout=10).login(USER, PASSWORD)

    def deliver(self, raw: bytes) -> None:
        """Put a mail into the INBOX, as the MTA's local delivery would."""
        with self.mailbox() as box:
            box.append(raw, "INBOX", flag_set=())

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._mail_dir.cleanup()
