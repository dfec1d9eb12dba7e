"""Run every benchmark: python -m benchmarks --scale 0.1 [--only ingest,features]."""

from __future__ import annotations

import argparse
import importlib

MODULES = ("cli", "ingest", "demo", "features", "predictive", "audiences", "segmentations", "dynamics", "backfill",
           "monthly", "alerts", "service", "dashboard", "activation", "spark", "gdpr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1, help="1.0 = 1M customers / 10M-row files")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args()
    wanted = [name for name in args.only.split(",") if name] or list(MODULES)
    print(f"segmento benchmarks at scale {args.scale}")
    for name in wanted:
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"benchmarks.bench_{name}":
                continue
            raise
        module.run(args.scale)


if __name__ == "__main__":
    main()
