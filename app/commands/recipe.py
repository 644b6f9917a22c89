"""``semi-iin recipe``: rebuild the bundled encoders and the default model from the data folders."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("recipe", help="train a bundled artifact (speech encoder, face encoder, default model)")
    recipes = parser.add_subparsers(dest="recipe", metavar="RECIPE", required=True)

    face = recipes.add_parser("face-encoder", help="train the lite face encoder on FER2013")
    face.add_argument("--data", type=Path, required=True, help="FER2013 .npz with images, labels and usage arrays")
    _add_common(face, epochs=None)
    face.set_defaults(func=_run_face)

    speech = recipes.add_parser("speech-encoder", help="train the lite speech encoder on RAVDESS")
    speech.add_argument("--data", type=Path, required=True, help="RAVDESS folder with Actor_NN/*.flac (16 kHz)")
    _add_common(speech, epochs=None)
    speech.set_defaults(func=_run_speech)

    default = recipes.add_parser("default-model", help="train the default Semi-IIN model of the lite preset")
    default.add_argument("--mosi", type=Path, required=True, help="mosi_clips.csv with text, labels and std_fold")
    default.add_argument("--ravdess", type=Path, required=True, help="RAVDESS folder with Actor_NN/*.flac")
    default.add_argument("--fer", type=Path, required=True, help="FER2013 .npz")
    default.add_argument("--encoders", type=Path, default=None,
                         help="folder with speech_encoder/ and face_encoder/ (default: resources/models)")
    default.add_argument("--self-training", action=argparse.BooleanOptionalAction, default=True,
                         help="run the self-training stage after the supervised one (default: on)")
    _add_common(default, epochs=None)
    default.set_defaults(func=_run_default)


def _add_common(parser: argparse.ArgumentParser, epochs: int | None) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output folder for weights and model card")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, default=epochs, help="training epochs (default: the recipe's own)")
    parser.add_argument("--limit", type=int, default=None, help="use at most this many items per split, for quick runs")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--cache", type=Path, default=None, dest="cache_dir",
                        help="folder for cached RAVDESS log-mels, shared by the speech and default-model recipes")
    parser.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bars")


def _overrides(args: argparse.Namespace) -> dict:
    values = {"seed": args.seed, "limit": args.limit, "threads": args.threads}
    if args.cache_dir is not None and args.recipe != "face-encoder":
        values["cache_dir"] = args.cache_dir
    if args.epochs is not None:
        values["epochs"] = args.epochs
    return values


def _run_face(args: argparse.Namespace) -> int:
    from core_model.recipes.face_encoder import FaceRecipeConfig, train_face_encoder

    metrics = train_face_encoder(args.data, args.out, FaceRecipeConfig(**_overrides(args)), progress=not args.no_progress)
    print(json.dumps(metrics, indent=2))
    return 0


def _run_speech(args: argparse.Namespace) -> int:
    from core_model.recipes.speech_encoder import SpeechRecipeConfig, train_speech_encoder

    metrics = train_speech_encoder(args.data, args.out, SpeechRecipeConfig(**_overrides(args)), progress=not args.no_progress)
    print(json.dumps(metrics, indent=2))
    return 0


def _run_default(args: argparse.Namespace) -> int:
    from core_model.recipes.default_model import DefaultRecipeConfig, train_default_model

    config = DefaultRecipeConfig(**_overrides(args), self_training=args.self_training)
    metrics = train_default_model(
        mosi=args.mosi, ravdess=args.ravdess, fer=args.fer, encoders=args.encoders, out=args.out,
        config=config, progress=not args.no_progress,
    )
    print(json.dumps(metrics, indent=2))
    return 0
