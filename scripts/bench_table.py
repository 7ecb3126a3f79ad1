"""The table of `make bench` (scripts/bench.sh) from its runs.

Input: one tab-separated line per wrk run, in the order they ran: round, label ("bare" for the
bare axum runs, which come before and after every other row), requests/s, p99 as wrk prints
it, server CPU microseconds per request, non-2xx answers (empty when none).

Each row's ratio in a round is its requests/s over the mean of the bare runs just before and
just after it; its CPU column is the same bare runs' CPU per request over its own. A cell is
the median over the rounds; the range of the ratio across rounds is printed beside it.
"""

import statistics
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def millis(p99: str) -> float:
    """wrk's latency text (`987.00us`, `2.50ms`, `1.02s`) in milliseconds."""
    for unit in ("us", "ms", "s"):
        if p99.endswith(unit):
            return float(p99[: -len(unit)]) * UNITS[unit]
    return float("nan")


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        runs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    rows: dict[str, list[dict]] = {}
    bare_rates, bare_cpus = [], []
    for i, (_round, label, rate, p99, cpu, non2xx) in enumerate(runs):
        if label == "bare":
            bare_rates.append(float(rate))
            bare_cpus.append(float(cpu))
            continue
        before, after = runs[i - 1], runs[i + 1]
        bare_rate = (float(before[2]) + float(after[2])) / 2
        bare_cpu = (float(before[4]) + float(after[4])) / 2
        rows.setdefault(label, []).append(
            {
                "rate": float(rate),
                "p99": millis(p99),
                "cpu": float(cpu),
                "ratio": float(rate) / bare_rate,
                "cpu_ratio": bare_cpu / float(cpu),
                "non2xx": int(non2xx or 0),
            }
        )
    rounds = max(len(r) for r in rows.values())
    print(
        f"{'':56} {'req/s':>9}  {'p99':>9}  {'of bare':>7} {'(rounds)':<17}"
        f"server CPU per request (bare / it)   medians of {rounds} round(s)"
    )
    for label, cells in rows.items():
        median = lambda key: statistics.median(c[key] for c in cells)  # noqa: E731
        ratios = sorted(c["ratio"] for c in cells)
        spread = f"({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else ""
        errors = sum(c["non2xx"] for c in cells)
        print(
            f"{label:56} {median('rate'):9.0f}  {median('p99'):7.2f}ms  "
            f"{median('ratio'):7.2f} {spread:<17}{median('cpu'):6.1f} us "
            f"({median('cpu_ratio'):.2f})" + (f"  (non-2xx: {errors})" if errors else "")
        )
    print(
        f"bare axum GET /, {len(bare_rates)} runs: {min(bare_rates):.0f}-{max(bare_rates):.0f} "
        f"req/s, {min(bare_cpus):.1f}-{max(bare_cpus):.1f} us CPU per request"
    )


if __name__ == "__main__":
    main(sys.argv[1])
