#!/usr/bin/env python3
"""A flood of sign-in attempts from one address that the throttle has already refused, against a
running auto-logout server that trusts 127.0.0.1 as a proxy (X-Forwarded-For), while a person
signs in from other addresses. Reports the requests sent, their answers, the refusals' latency,
the audit rows the flood added (read from the SQLite file) and the other addresses' sign-ins.
Standard library only.

Usage: throttle_flood.py URL DB_FILE USER PASSWORD [--clients 32] [--seconds 10]
"""
import argparse
import http.client
import sqlite3
import threading
import time
import urllib.parse
from collections import Counter

ATTACKER = "203.0.113.9"


def post_sign_in(conn, host, port, username, password, ip):
    body = urllib.parse.urlencode({"username": username, "password": password, "next": "/home"})
    conn.request(
        "POST",
        "/sign-in",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://{host}:{port}",
            "X-Forwarded-For": ip,
        },
    )
    response = conn.getresponse()
    response.read()
    return response.status, response.getheader("Location") or ""


def audit_rows(db_file):
    with sqlite3.connect(db_file) as db:
        try:
            rows, attempts = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(repeat_count), 0) FROM audit_log "
                "WHERE event = 'login_throttled'"
            ).fetchone()
        except sqlite3.OperationalError:  # a build from before rows stood for several attempts
            rows = attempts = db.execute(
                "SELECT COUNT(*) FROM audit_log WHERE event = 'login_throttled'"
            ).fetchone()[0]
        total = db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    return rows, attempts, total


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("db_file")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    target = urllib.parse.urlparse(args.url)
    host, port = target.hostname, target.port

    # Get the attacker's address throttled first (the default per-IP limit is 50 failures).
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for i in range(200):
        status, _ = post_sign_in(conn, host, port, f"warm-up-{i}", "wrong", ATTACKER)
        if status == 429:
            break
    else:
        raise SystemExit("the attacker's address was never throttled: is 127.0.0.1 a trusted proxy?")
    time.sleep(6)  # the counts of the warm-up's refusals are written
    before = audit_rows(args.db_file)

    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    answers = Counter()
    latencies = []

    def attacker(n):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        i = 0
        while time.monotonic() < deadline:
            i += 1
            started = time.perf_counter()
            try:
                status, _ = post_sign_in(conn, host, port, f"guess-{n}-{i}", "wrong", ATTACKER)
            except Exception as err:  # counted, then reconnected
                status = type(err).__name__
                conn = http.client.HTTPConnection(host, port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                answers[status] += 1
                if status == 429:
                    latencies.append(elapsed)

    legit = Counter()
    legit_latencies = []

    def person():
        i = 0
        while time.monotonic() < deadline:
            i += 1
            conn = http.client.HTTPConnection(host, port, timeout=30)
            started = time.perf_counter()
            status, location = post_sign_in(
                conn, host, port, args.user, args.password, f"198.51.100.{i % 250 + 1}"
            )
            legit_latencies.append((time.perf_counter() - started) * 1000)
            legit["signed in" if status == 303 and location == "/home" else f"{status} {location}"] += 1
            time.sleep(0.25)

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(args.clients)]
    threads.append(threading.Thread(target=person))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(6)  # the counts are written every 5 s
    after = audit_rows(args.db_file)

    sent = sum(answers.values())
    print(f"flood: {sent} requests in {args.seconds:.0f} s from {ATTACKER} "
          f"({sent / args.seconds:,.0f}/s, {args.clients} connections), answers {dict(answers)}")
    print(f"refusal latency (client side): p50 {percentile(latencies, 50):.2f} ms, "
          f"p99 {percentile(latencies, 99):.2f} ms, max {max(latencies, default=0):.2f} ms")
    print(f"audit rows added: {after[2] - before[2]} in all, {after[0] - before[0]} login_throttled "
          f"standing for {after[1] - before[1]} refused attempts")
    print(f"other addresses meanwhile: {dict(legit)}, sign-in latency p50 "
          f"{percentile(legit_latencies, 50):.0f} ms, p99 {percentile(legit_latencies, 99):.0f} ms")


if __name__ == "__main__":
    main()
