"""Query latency over synthetic galleries of 1k, 100k and 1M unit embeddings (256-d).

Prints the median latency of one top-20 query (blocked cosine ranking, with a camera mask)
per gallery size. Targets on a 2-core CPU: < 50 ms at 100k, < 0.5 s at 1M.
Run: python bench/bench_search.py [--sizes 1000 100000 1000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from reid_core.search import normalise, top_k_cosine

DIM = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'gallery':>10}  {'median ms':>10}  {'min ms':>8}  (top-20, 256-d, camera mask)")
    for size in args.sizes:
        gallery = normalise(rng.standard_normal((size, DIM), dtype=np.float32))
        cameras = rng.integers(0, 8, size)
        times = []
        for _ in range(args.repeats):
            query = rng.standard_normal((1, DIM), dtype=np.float32)
            start = time.perf_counter()
            top_k_cosine(query, gallery, 20, mask=cameras != 0)
            times.append((time.perf_counter() - start) * 1000)
        print(f"{size:>10}  {statistics.median(times):>10.1f}  {min(times):>8.1f}")
        del gallery


if __name__ == "__main__":
    main()
