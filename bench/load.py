"""What the live-server benchmarks share: a free port, waiting for a server to answer, a
process's CPU time, the order of a round, and the wrk script of a Leave Message form post."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

# Every post has its own tag (the run's prefix, wrk's thread, a counter), so none is folded as a
# duplicate and each can be found in the database afterwards: "<tag>@example.com".
# TOKEN: a valid time-trap token; PREFIX: letters and digits. Scripts may add functions.
FORM_POST_LUA = """
threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  ok = 0
  bad = 0
end
function next_tag()
  counter = counter + 1
  return "PREFIXt" .. id .. "n" .. counter
end
request = function()
  local tag = next_tag()
  local body = "name=Bench+Patient&email=" .. tag .. "%40example.com&subject=cramps+at+the+end"
    .. "&message=Near+the+end+of+session+" .. tag .. "+my+calves+cramp+and+they+took+4+litres+off"
    .. "&page=https%3A%2F%2Fhospital.example%2Fleg-cramps.html&website=&form_token=TOKEN"
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  return wrk.format("POST", "/contact", headers, body)
end
"""


def form_post_lua(*, token: str, prefix: str, extra: str = "") -> str:
    """The wrk script: FORM_POST_LUA, then `extra` (which may redefine its functions), with the
    placeholders filled."""
    return (FORM_POST_LUA + extra).replace("TOKEN", token).replace("PREFIX", prefix)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(
    port: int, path: str = "/", *, seconds: float = 60, process: subprocess.Popen | None = None
) -> None:
    """Until the server on `port` answers `path` (any HTTP status); fails at once if `process`
    (the server) has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {port} ended with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server on {port} did not answer {path}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_order(kinds: Sequence[str], round_number: int) -> list[str]:
    """The order in which a round measures `kinds`: reversed every other round, so that a
    machine that speeds up or slows down during the run favours none of them."""
    return list(kinds) if round_number % 2 == 0 else list(reversed(kinds))
