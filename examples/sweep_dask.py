"""The same sweep on a Dask cluster: pass the cluster's executor, nothing else changes.

Run:   python examples/sweep_dask.py [--scheduler tcp://HOST:8786] [--out results/sweep-dask]

Without --scheduler a LocalCluster (2 worker processes) stands in for a real
cluster. Workers need nnopt installed and this file importable (or use
client.upload_file); they never touch the store: results come back to this
process, which writes the records, so the cluster needs no shared disk.
Requires the `dist` extra: pip install "nnopt[dist]".
"""
import argparse
from pathlib import Path

from nnopt.experiments import connect, report, sweep

from sweep_logistic import GRID, SEEDS, train  # noqa: E402  (the laptop example's run function)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scheduler", default=None, help="Dask scheduler address")
    p.add_argument("--out", default="results/sweep-dask")
    args = p.parse_args()

    if args.scheduler:
        client = connect(args.scheduler, timeout=10)          # clear error if unreachable
        cluster = None
    else:
        from dask.distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        records = sweep(train, GRID, seeds=SEEDS, store=Path(args.out) / "records",
                        executor=client.get_executor())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print(f"{len(records)} runs, {sum(r['status'] == 'failed' for r in records)} failed")
    for f in report(Path(args.out) / "records", Path(args.out) / "report", title="sweep on Dask"):
        print("wrote", f)


if __name__ == "__main__":
    main()
