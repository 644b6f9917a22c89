"""Child processes for the crash and concurrency tests, run as ``python workers.py MODE ...``.

Every mode appends a line to an acknowledgement file after each committed
transaction, flushed at once, so the parent can tell what was committed
before it killed or joined the child.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.project import Project  # noqa: E402

ANNOTATORS = ("alice", "bob", "carol")


def next_spec(rng: random.Random, clip_ids: list[int], step: int) -> dict:
    """Pick the next random action as a JSON-serialisable spec."""
    clip_id = rng.choice(clip_ids)
    annotator = rng.choice(ANNOTATORS)
    roll = rng.random()
    if roll < 0.2:
        return {"op": "accept", "clip": clip_id, "who": annotator}
    if roll < 0.4:
        return {"op": "set_label", "clip": clip_id, "value": round(rng.uniform(-3, 3), 3), "who": annotator}
    if roll < 0.48:
        return {"op": "reject", "clip": clip_id, "who": annotator}
    if roll < 0.54:
        return {"op": "flag", "clip": clip_id, "who": annotator, "note": f"step {step} ✓"}
    if roll < 0.6:
        return {"op": "edit_text", "clip": clip_id, "text": f"texte {step} modifié"}
    if roll < 0.65:
        return {"op": "bulk_accept", "min": rng.choice([0.5, 0.7, 0.9]), "who": annotator}
    if roll < 0.8:
        return {"op": "undo"}
    if roll < 0.9:
        return {"op": "redo"}
    version = f"w{step}"
    rows = []
    for other in rng.sample(clip_ids, k=min(5, len(clip_ids))):
        confidence = round(rng.uniform(0.2, 0.99), 3)
        probs = [0.0] * 7
        probs[2], probs[5] = 1 - confidence, confidence
        rows.append({"clip_id": other, "intensity": round(rng.uniform(-3, 3), 3), "probs": probs,
                     "confidence": confidence})
    return {"op": "predict", "version": version, "rows": rows}


def perform(project: Project, spec: dict) -> None:
    """Apply one action spec to ``project``."""
    op = spec["op"]
    if op == "accept":
        project.accept(spec["clip"], spec["who"])
    elif op == "set_label":
        project.set_label(spec["clip"], spec["value"], spec["who"])
    elif op == "reject":
        project.reject(spec["clip"], spec["who"])
    elif op == "flag":
        project.flag(spec["clip"], spec["who"], note=spec["note"])
    elif op == "edit_text":
        project.edit_text(spec["clip"], spec["text"])
    elif op == "bulk_accept":
        project.bulk_accept(spec["min"], spec["who"])
    elif op == "undo":
        project.undo()
    elif op == "redo":
        project.redo()
    elif op == "predict":
        project.save_predictions(spec["version"], spec["rows"])
    else:
        raise ValueError(f"unknown action {op!r}")


def run_crash_child(folder: str, ack_path: str, seed: int) -> None:
    """Perform random actions forever; the parent kills this process with SIGKILL."""
    rng = random.Random(seed)
    with Project.open(folder, backup_on_open=False) as project, open(ack_path, "a", encoding="utf-8") as ack:
        clip_ids = [row.id for row in project.list_clips()]
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        step = 0
        while True:
            spec = next_spec(rng, clip_ids, seed * 100_000 + step)
            ack.write("intent " + json.dumps(spec) + "\n")
            ack.flush()
            perform(project, spec)
            ack.write("done\n")
            ack.flush()
            step += 1


def run_annotator(folder: str, ack_path: str, count: int) -> None:
    """Label clips one by one, acknowledging each committed label as ``clip value``."""
    with Project.open(folder, backup_on_open=False) as project, open(ack_path, "w", encoding="utf-8") as ack:
        clip_ids = [row.id for row in project.list_clips()]
        for step in range(count):
            clip_id = clip_ids[step % len(clip_ids)]
            value = round(((step * 37) % 601) / 100 - 3, 2)
            project.set_label(clip_id, value, "annotator")
            ack.write(f"{clip_id} {value}\n")
            ack.flush()
            # Reads between writes, as the GUI does after each action.
            project.list_clips(order_by="confidence", limit=50)


def run_predictor(folder: str, ack_path: str, batches: int) -> None:
    """Save predictions for all clips in batches, one model version per batch."""
    with Project.open(folder, backup_on_open=False) as project, open(ack_path, "w", encoding="utf-8") as ack:
        clip_ids = [row.id for row in project.list_clips()]
        for batch in range(batches):
            rows = []
            for clip_id in clip_ids:
                confidence = 0.2 + (clip_id * 7 + batch) % 70 / 100
                probs = [0.0] * 7
                probs[1], probs[4] = 1 - confidence, confidence
                rows.append({"clip_id": clip_id, "intensity": 0.5, "probs": probs, "confidence": confidence})
            project.save_predictions(f"batch{batch}", rows)
            ack.write(f"batch{batch} {len(rows)}\n")
            ack.flush()


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    if mode == "crash":
        run_crash_child(arguments[0], arguments[1], int(arguments[2]))
    elif mode == "annotate":
        run_annotator(arguments[0], arguments[1], int(arguments[2]))
    elif mode == "predict":
        run_predictor(arguments[0], arguments[1], int(arguments[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}; use crash, annotate or predict")
