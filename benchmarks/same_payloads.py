"""Prove a refactor changed no output: ``payloads.jsonl`` byte-identical between two revisions.

Converts every sample feed and a generated 20,000-listing Poliris feed with the working tree and
with ``--base`` (a git revision, checked out in a temporary worktree), then compares the files.

    uv run python benchmarks/same_payloads.py --base 65a30b2 [--count 20000] [--workers N]

``--workers`` is passed to the working tree's convert (a base from before issue 14 has one process).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def convert(tree: Path, source: Path, out: Path, extra: tuple[str, ...] = ()) -> Path:
    code = "import sys; from etl.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", code, "convert", str(source), "--out", str(out), *extra],
                   cwd=tree, env=env, check=False, capture_output=True)
    return out / "payloads.jsonl"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--workers", type=int, help="the working tree's --workers (default: its own default)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_convert import make_feed

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = work / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        try:
            feeds = sorted((ROOT / "sample_feeds").glob("*.zip"))
            feeds.append(make_feed(work / "Annonces.csv", args.count))
            different = 0
            for feed in feeds:
                old = digest(convert(base, feed, work / "old" / feed.stem))
                extra = ("--workers", str(args.workers)) if args.workers else ()
                new = digest(convert(ROOT, feed, work / "new" / feed.stem, extra))
                same = old == new and old != "absent"
                different += not same
                print(f"{'same' if same else 'DIFFERENT'}  {feed.name}  {new[:16]}")
            return 1 if different else 0
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    sys.exit(main())
