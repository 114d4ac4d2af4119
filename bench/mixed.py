"""A mixed workload: patients posting the form while staff work the inbox and the worker sends.

For each database, at the same time for `--seconds`:
- form posts at a steady rate (`--form-rate`), from wrk (Debian's package; `make bench`
  installs it) with a Lua script that paces each connection and gives every post its own tag;
- `--staff` staff members in this process (httpx): sign in now and then, list the inbox, open
  a conversation, save its draft, open it again, approve it;
- the worker drafting the new messages and sending the approved replies to a local aiosmtpd
  sink (another process).
SQLite runs the embedded mode: one `inbox serve` process with the worker in it. PostgreSQL
runs a web process and a separate `inbox worker` process (a temp database on
INBOX_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432, dropped at the end;
skipped with the reason when unreachable).

Prints per-class p50/p99, errors (any answer other than the expected one, socket errors) and
lost submissions (answered 303 but not stored), the CPU share of the load generators (this
process and wrk) and of the servers, and ends with one JSON line:
{"bench": "mixed", "sqlite": {"form_p99_ms", "staff_p99_ms", "errors", "lost"}, "postgresql"}.
Goals: 0 errors, 0 lost, form p99 <= 50 ms, staff pages p99 <= 150 ms (sign-in, which spends
most of its time in argon2 on purpose, is reported as its own class, outside "staff pages").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.databases import postgres_database  # noqa: E402
from bench.load import cpu_seconds, form_post_lua, free_port, wait_up  # noqa: E402
from bench.staff_load import PASSWORD, StaffMember, Timings  # noqa: E402
from inbox.db import create_db_engine, session_scope, upgrade  # noqa: E402
from inbox.intake.spam import issue_form_token  # noqa: E402
from inbox.staff.service import create_staff  # noqa: E402

SECRET = "bench-only-1a2b3c4d5e6f7a8b9c0dD1E2F3A4B5C6d7e8f9a0b1c2"  # serve refuses weak keys
CONNECTIONS = 4  # wrk connections for the form, one per wrk thread: each posts in sequence
PAGES = ("list", "open", "save", "approve")
REPORT_LUA = """
armed = false
function delay()
  armed = true
  return DELAY_MS
end
function next_tag()
  -- wrk asks the first thread for one request before the run, to check it: never sent
  if not armed then return "PREFIXcheck" end
  armed = false
  counter = counter + 1
  return "PREFIXt" .. id .. "n" .. counter
end
function response(status, headers, body)
  if status == 303 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("THREAD %d %d %d %d\\n", thread:get("id"), thread:get("counter"),
      thread:get("ok"), thread:get("bad")))
  end
  for _, p in ipairs({50, 99}) do
    io.write(string.format("PCT %g %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("ERRORS %d %d %d %d\\n", summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
"""


@dataclass
class Target:
    """One database's servers: the web process (and on PostgreSQL the worker process)."""

    name: str
    url: str
    workdir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, port: int, smtp_port: int, *, run_worker: bool) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "INBOX_DATABASE_URL": self.url,
            "INBOX_SECRET_KEY": SECRET,
            "INBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "INBOX_RATE_LIMIT_IP": "100000000/minute",
            "INBOX_RATE_LIMIT_ADDRESS": "100000000/minute",
            "INBOX_RUN_WORKER": "true" if run_worker else "false",
            "INBOX_MAIL_CATCHER": "false",
            "INBOX_SMTP_HOST": "127.0.0.1",
            "INBOX_SMTP_PORT": str(smtp_port),
            "INBOX_WORKER_POLL_SECONDS": "0.2",
            "INBOX_MIGRATE_ON_START": "false",
            "INBOX_DEMO_SEED": "false",
            "INBOX_LOG_LEVEL": "WARNING",
        }


def start_sink(port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
    command += ["-l", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    raise RuntimeError("the SMTP sink did not start")


def start_servers(target: Target, port: int, smtp_port: int) -> None:
    inbox = str(Path(sys.executable).parent / "inbox")
    embedded = target.name == "sqlite"
    web = subprocess.Popen(
        [inbox, "serve", "--port", str(port)],
        env=target.env(port, smtp_port, run_worker=embedded),
        cwd=target.workdir,
        stdout=subprocess.DEVNULL,
        stderr=(target.workdir / "web.log").open("wb"),
    )
    target.processes.append(web)
    if not embedded:
        worker = subprocess.Popen(
            [inbox, "worker"],
            env=target.env(port, smtp_port, run_worker=True),
            cwd=target.workdir,
            stdout=subprocess.DEVNULL,
            stderr=(target.workdir / "worker.log").open("wb"),
        )
        target.processes.append(worker)
    wait_up(port, "/healthz", process=web)


def count(engine: sa.Engine, query: str, **params: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(query), params).scalar() or 0)


async def warm_up(base: str, token: str, engine: sa.Engine, messages: int) -> None:
    """Messages for the staff to work on, drafted before the clock starts."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for index in range(messages):
            fields = {
                "name": "Warm Patient",
                "email": f"warm{index}@example.com",
                "subject": "cramps at the end",
                "message": f"Near the end of session {index} my calves cramp after 4 litres",
                "page": "https://hospital.example/leg-cramps.html",
                "website": "",
                "form_token": token,
            }
            await client.post("/contact", data=fields)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not count(engine, "SELECT count(*) FROM message WHERE drafted_at IS NULL"):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the worker did not draft the warm-up messages")


async def run_wrk(port: int, seconds: int, rate: float, token: str, workdir: Path, prefix: str):
    delay_ms = max(1, int(CONNECTIONS * 1000 / rate))
    script = workdir / "form.lua"
    report_lua = REPORT_LUA.replace("DELAY_MS", str(delay_ms))
    script.write_text(form_post_lua(token=token, prefix=prefix, extra=report_lua))
    process = await asyncio.create_subprocess_exec(
        "wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(script), f"http://127.0.0.1:{port}/contact",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output = (await process.communicate())[0].decode()
    threads = [tuple(map(int, m)) for m in re.findall(r"THREAD (\d+) (\d+) (\d+) (\d+)", output)]
    pcts = {float(p): int(us) / 1000 for p, us in re.findall(r"PCT ([\d.]+) (\d+)", output)}
    socket_errors = sum(map(int, re.search(r"ERRORS (\d+) (\d+) (\d+) (\d+)", output).groups()))
    return threads, pcts, socket_errors


def lost_posts(engine: sa.Engine, prefix: str, threads: list[tuple[int, ...]]) -> tuple[int, int]:
    """(stored, lost): posts answered but not stored. Each wrk thread has one connection and
    posts in sequence, so its answered posts are its first ones; a refused one (an error, the
    patient was told) is not lost."""
    with engine.connect() as connection:
        stored = set(
            connection.execute(
                sa.text("SELECT email FROM message WHERE email LIKE :p"), {"p": f"{prefix}t%"}
            ).scalars()
        )
    lost = 0
    for thread_id, _sent, ok, bad in threads:
        missing = sum(
            f"{prefix}t{thread_id}n{n}@example.com" not in stored for n in range(1, ok + bad + 1)
        )
        lost += max(0, missing - bad)
    return len(stored), lost


async def measure(target: Target, args: argparse.Namespace) -> dict:
    port, smtp_port = free_port(), free_port()
    upgrade(target.url)
    engine = create_db_engine(target.url, pooled=False)
    emails = [f"staff{i}@hospital.example" for i in range(args.staff)]
    with session_scope(engine) as session:
        for email in emails:
            create_staff(session, email=email, password=PASSWORD, now=datetime.now(UTC))
    sink = start_sink(smtp_port)
    token = issue_form_token(SECRET, now=datetime.now(UTC) - timedelta(minutes=5))
    base = f"http://127.0.0.1:{port}"
    try:
        start_servers(target, port, smtp_port)
        await warm_up(base, token, engine, args.warm_up)
        timings = Timings()
        staff = [StaffMember(base, email, i, args.staff, timings) for i, email in enumerate(emails)]
        prefix = f"m{uuid.uuid4().hex[:8]}"
        servers_before = sum(cpu_seconds(p.pid) for p in target.processes + [sink])
        own_before = os.times()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        stop_at = started + args.seconds
        form, *_ = await asyncio.gather(
            run_wrk(port, args.seconds, args.form_rate, token, target.workdir, prefix),
            *(member.run(stop_at, args.think) for member in staff),
        )
        wall = time.monotonic() - started
        own_after = os.times()
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        servers_after = sum(cpu_seconds(p.pid) for p in target.processes + [sink])
        for member in staff:
            await member.client.aclose()
        threads, pcts, socket_errors = form
        await asyncio.sleep(1)  # the last batch
        stored, lost = lost_posts(engine, prefix, threads)
        approved = sum(member.approved for member in staff)
        deadline = time.monotonic() + 20  # the worker sends what was approved
        sent = 0
        while time.monotonic() < deadline:
            sent = count(engine, "SELECT count(*) FROM outbox_mail WHERE state = 'sent'")
            if not count(engine, "SELECT count(*) FROM outbox_mail WHERE state = 'queued'"):
                break
            await asyncio.sleep(0.2)
        drafted = count(
            engine, "SELECT count(*) FROM message WHERE email LIKE :p AND drafted_at IS NOT NULL",
            p=f"{prefix}t%",
        )  # fmt: skip
    finally:
        for process in target.processes:
            process.terminate()
        for process in target.processes:
            process.wait(timeout=30)
        sink.terminate()
        sink.wait(timeout=10)
        engine.dispose()
    own = (own_after.user - own_before.user) + (own_after.system - own_before.system)
    wrk_cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    posts = sum(t[2] + t[3] for t in threads)
    form_errors = sum(t[3] for t in threads) + socket_errors
    errors = form_errors + len(timings.errors)
    cores = os.cpu_count() or 1
    return {
        "form_p50_ms": pcts.get(50.0, 0.0),
        "form_p99_ms": pcts.get(99.0, 0.0),
        "form_rate": posts / wall,
        "forms": posts,
        "stored": stored,
        "drafted_during_run": drafted,
        "classes": {
            kind: {
                "n": len(timings.by_class.get(kind, [])),
                "p50_ms": timings.percentile((kind,), 50),
                "p99_ms": timings.percentile((kind,), 99),
            }
            for kind in (*PAGES, "sign-in")
        },
        "staff_p50_ms": timings.percentile(PAGES, 50),
        "staff_p99_ms": timings.percentile(PAGES, 99),
        "approved": approved,
        "sent": sent,
        "errors": errors,
        "error_samples": timings.errors[:5],
        "lost": lost,
        "load_cpu_share": (own + wrk_cpu) / (wall * cores),
        "server_cpu_share": (servers_after - servers_before) / (wall * cores),
    }


@contextmanager
def database(name: str, workdir: Path) -> Iterator[tuple[str | None, str | None]]:
    """The database URL of one half of the run, or None and why it is skipped."""
    if name == "sqlite":
        yield f"sqlite:///{workdir / 'inbox.db'}", None
        return
    base = os.environ.get("INBOX_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
    with postgres_database(base, prefix="inbox_mixed") as made:
        yield made


def report(name: str, figures: dict) -> None:
    print(
        f"\n{name}: {figures['forms']} form posts ({figures['form_rate']:.1f}/s), "
        f"{figures['stored']} stored, {figures['drafted_during_run']} of them drafted by the end,"
        f" {figures['approved']} replies approved, {figures['sent']} mails sent to the sink"
    )
    print(f"  {'class':10s} {'n':>6s} {'p50 ms':>8s} {'p99 ms':>8s}")
    print(f"  {'form':10s} {figures['forms']:6d} {figures['form_p50_ms']:8.1f} "
          f"{figures['form_p99_ms']:8.1f}")  # fmt: skip
    for kind, row in figures["classes"].items():
        print(f"  {kind:10s} {row['n']:6d} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f}")
    print(
        f"  staff pages p50 {figures['staff_p50_ms']:.1f} ms, p99 {figures['staff_p99_ms']:.1f}"
        f" ms; errors {figures['errors']} {figures['error_samples'] or ''}; lost {figures['lost']}"
    )
    print(
        f"  CPU (share of {os.cpu_count()} cores): load generators (this process + wrk) "
        f"{figures['load_cpu_share']:.0%}, servers {figures['server_cpu_share']:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--form-rate", type=float, default=20.0, help="form posts per second")
    parser.add_argument("--staff", type=int, default=3, help="staff members working at once")
    parser.add_argument("--think", type=float, default=0.2, help="seconds between staff steps")
    parser.add_argument("--warm-up", type=int, default=30, help="messages drafted beforehand")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/mixed.py needs wrk (Debian: apt-get install wrk; `make bench` does it)")
    load = os.getloadavg()
    print(
        f"mixed workload, {args.seconds} s per database: forms at {args.form_rate:g}/s (wrk, "
        f"{CONNECTIONS} connections), {args.staff} staff (think {args.think} s), worker drafting"
        f" and sending to an aiosmtpd sink; load average before: {load[0]:.2f}"
    )
    summary: dict[str, object] = {"bench": "mixed"}
    for name in args.databases.split(","):
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-mixed-{name}-"))
        try:
            with database(name, workdir) as (url, reason):
                if url is None:
                    print(f"\n{name}: skipped ({reason})")
                    summary[name] = {"skipped": reason}
                    continue
                figures = asyncio.run(measure(Target(name, url, workdir), args))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        report(name, figures)
        summary[name] = {
            "form_p99_ms": round(figures["form_p99_ms"], 1),
            "staff_p99_ms": round(figures["staff_p99_ms"], 1),
            "sign_in_p99_ms": round(figures["classes"]["sign-in"]["p99_ms"], 1),
            "errors": figures["errors"],
            "lost": figures["lost"],
            "load_cpu_share": round(figures["load_cpu_share"], 2),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
