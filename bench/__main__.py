"""Run every benchmark script in this folder: ``python -m bench [NAME ...]``.

Each ``bench_*.py`` prints its own table; ``--quick`` is passed through to
the scripts that accept it.
"""

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    folder = Path(__file__).parent
    names = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    scripts = sorted(folder.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    failures = 0
    for script in scripts:
        print(f"\n== {script.stem} ==", flush=True)
        result = subprocess.run([sys.executable, str(script), *flags], cwd=folder.parent)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
