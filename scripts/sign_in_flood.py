#!/usr/bin/env python3
"""Sends many concurrent failed sign-ins to a running auto-logout server and reports its peak
resident memory and the sign-in throughput (standard library only).

Usage: sign_in_flood.py URL PID [--clients 300] [--seconds 10]
"""
import argparse
import http.client
import os
import threading
import time
import urllib.parse
from collections import Counter


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(host: str, port: int, deadline: float, counts: Counter, lock: threading.Lock, n: int):
    conn = None
    i = 0
    while time.monotonic() < deadline:
        i += 1
        body = urllib.parse.urlencode(
            {"username": f"nobody-{n}-{i}", "password": "wrong password", "next": "/home"}
        )
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request(
                "POST",
                "/sign-in",
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": f"http://{host}:{port}",
                },
            )
            response = conn.getresponse()
            response.read()
            key = response.status
        except Exception as err:  # a refused or dropped connection counts, then reconnects
            key = type(err).__name__
            conn = None
        with lock:
            counts[key] += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("pid", type=int)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    target = urllib.parse.urlparse(args.url)
    counts: Counter = Counter()
    lock = threading.Lock()
    before = rss_kib(args.pid)
    cpu_before = cpu_seconds(args.pid)
    deadline = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=client,
            args=(target.hostname, target.port, deadline, counts, lock, n),
            daemon=True,
        )
        for n in range(args.clients)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    peak = before
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_kib(args.pid))
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(args.pid) - cpu_before
    time.sleep(1.0)
    after = rss_kib(args.pid)
    hwm = rss_kib(args.pid, "VmHWM")
    total = sum(counts.values())
    checked = counts.get(303, 0)
    print(f"clients: {args.clients}, duration: {elapsed:.1f} s, requests: {total}")
    print(f"answers by status: {dict(sorted(counts.items(), key=lambda kv: str(kv[0])))}")
    print(f"password checks (303 failures): {checked} ({checked / elapsed:.0f}/s); all answers {total / elapsed:.0f}/s")
    print(f"server CPU: {cpu:.1f} s in {elapsed:.1f} s ({100 * cpu / elapsed:.0f}% of one core; the load generator shares the machine)")
    print(f"resident memory: before {before / 1024:.0f} MB, peak {max(peak, hwm) / 1024:.0f} MB, 1 s after {after / 1024:.0f} MB")


if __name__ == "__main__":
    main()
