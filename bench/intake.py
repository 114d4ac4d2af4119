"""Throughput and latency of the live POST /contact endpoint on SQLite, against references.

Drives each server (one uvicorn process, SQLite in a temp folder) at 32 concurrent
connections for a fixed time with wrk (Debian's package; `make bench` installs it when missing).
Without wrk it refuses to run: a Python client measures itself more than the server, and the
ratios would mean nothing. Every request carries a different address and text, a valid
time-trap token and an empty honeypot, so the whole real path runs: validation, spam checks,
rate limits (set high enough to admit the load), duplicate check, contact/conversation/message
inserts.
The three servers are measured in rounds (two by default), each round in the reverse order of
the one before, and the means are reported, so that a machine that drifts favours none of them.
Prints figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import form_post_lua, free_port, round_order, wait_up  # noqa: E402
from inbox.intake.spam import issue_form_token  # noqa: E402

SECRET = "bench-only-9f8e7d6c5b4a3f2e1d0cB9A8C7D6E5F4a3b2c1d0"  # serve refuses weak keys


def start_server(kind: str, workdir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    python = sys.executable
    if kind == "inbox":
        env.update(
            INBOX_DATABASE_URL=f"sqlite:///{workdir / 'inbox.db'}",
            INBOX_SECRET_KEY=SECRET,
            INBOX_RATE_LIMIT_IP="100000000/minute",
            INBOX_RATE_LIMIT_ADDRESS="100000000/minute",
            INBOX_RUN_WORKER="false",
            INBOX_MAIL_CATCHER="false",
            INBOX_LOG_LEVEL="WARNING",
            INBOX_ACCESS_LOG="false",  # as the reference servers (--no-access-log)
        )
        command = [str(Path(python).parent / "inbox"), "serve", "--port", str(port)]
    else:
        env["BENCH_DB"] = str(workdir / f"{kind}.db")
        command = [
            python,
            "-m",
            "uvicorn",
            "--factory",
            f"bench.reference_apps:{kind}",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_up(port, "/healthz" if kind == "inbox" else "/contact")
    return process


def run_wrk(port: int, seconds: int, connections: int, token: str, workdir: Path) -> dict:
    script = workdir / "post.lua"
    # a fresh prefix per wrk run: the warm-up's texts must not come back as duplicates (a
    # folded duplicate is cheaper to store than a new message)
    run = f"r{time.monotonic_ns() % 10**9}x"
    script.write_text(form_post_lua(token=token, prefix=run))
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/contact",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return {
        "rps": rps,
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "errors": "Non-2xx" in output and "non-3xx" not in output,
    }


def _latency(output: str, label: str) -> float:
    found = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", output)
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def measure(kind: str, seconds: int, connections: int, token: str) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    port = free_port()
    process = start_server(kind, workdir, port)
    try:
        run_wrk(port, 2, connections, token, workdir)  # warm-up
        return run_wrk(port, seconds, connections, token, workdir)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def _mean(runs: list[dict]) -> dict:
    return {key: sum(run[key] for run in runs) / len(runs) for key in ("rps", "p50_ms", "p99_ms")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of the three servers (order reversed each)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit(
            "bench/intake.py needs wrk (Debian: apt-get install wrk; `make bench` does it): a"
            " Python client would measure itself, not the server, so no ratio is printed"
        )
    token = issue_form_token(SECRET, now=datetime.now(UTC) - timedelta(minutes=5))
    print(
        f"load: wrk, {args.connections} connections, {args.seconds} s per server,"
        f" one process each, {args.rounds} rounds"
    )
    # inbox, ceiling, naive, then naive, ceiling, inbox, ... (round_order)
    runs: dict[str, list[dict]] = {"inbox": [], "ceiling": [], "naive": []}
    order = list(runs)
    for round_number in range(args.rounds):
        for kind in round_order(order, round_number):
            runs[kind].append(measure(kind, args.seconds, args.connections, token))
    results = {kind: _mean(measured) for kind, measured in runs.items()}
    for kind, figures in results.items():
        each = ", ".join(f"{run['rps']:.0f}" for run in runs[kind])
        print(
            f"{kind:8s} {figures['rps']:8.0f} req/s   p50 {figures['p50_ms']:7.2f} ms"
            f"   p99 {figures['p99_ms']:7.2f} ms   (rounds: {each})"
        )
    inbox, ceiling, naive = results["inbox"], results["ceiling"], results["naive"]
    summary = {
        "bench": "intake",
        "rps": round(inbox["rps"], 1),
        "p50_ms": round(inbox["p50_ms"], 2),
        "p99_ms": round(inbox["p99_ms"], 2),
        "reference_rps": round(ceiling["rps"], 1),
        "ratio": round(inbox["rps"] / ceiling["rps"], 3),
        "naive_rps": round(naive["rps"], 1),
        "ratio_vs_naive": round(inbox["rps"] / naive["rps"], 2),
    }
    print(
        f"ratio to the ceiling {summary['ratio']:.2f} (goal >= 0.25), to the naive peer "
        f"{summary['ratio_vs_naive']:.1f}x (goal >= 5x), p99 {summary['p99_ms']} ms (goal <= 50 ms)"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
