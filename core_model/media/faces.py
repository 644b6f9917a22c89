"""Detect, track and crop the main face of a video with OpenCV's Haar cascades.

The cascades ship inside opencv-python-headless (cv2.data.haarcascades), so
nothing is downloaded. Per sampled frame the tracker keeps one face: the one
that overlaps the previous box most, else the largest and most central one.
Crops are rotated upright when both eyes are found, then scaled to a square
of `size` pixels (48x48 greyscale by default, the FER2013 face format).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from core_model.errors import ConfigError
from core_model.media.decode import iter_frames

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceConfig:
    """Settings of face detection, tracking and cropping."""

    detect_max_side: int = 320  # frames are shrunk to this longer side before detection (pixels)
    min_face_fraction: float = 0.08  # smallest face side, as a fraction of the frame's shorter side
    scale_factor: float = 1.15  # Haar detector image pyramid step
    min_neighbors: int = 5  # Haar detector: overlapping hits needed to accept a face
    margin: float = 0.25  # context added on each side of the face box, as a fraction of its side
    smoothing: float = 0.5  # weight of the previous box when the face stays in place (0 = none)
    min_iou: float = 0.3  # overlap with the previous box that counts as the same face
    hold_frames: int = 2  # missed detections bridged with the previous box
    align_eyes: bool = True  # rotate crops so that the eyes are level, when both are found
    max_roll_deg: float = 30.0  # larger eye angles are treated as detection errors

    @classmethod
    def from_dict(cls, values: dict) -> FaceConfig:
        """Build a config from a mapping; unknown keys raise ConfigError."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"Unknown face config keys {unknown}; known keys are {sorted(known)}")
        return cls(**values)


@dataclass(frozen=True)
class FaceTrack:
    """The main face at each sampled time of a video.

    Shapes: times_s (M,), crops (M, H, W) uint8 greyscale or (M, H, W, 3) RGB,
    boxes (M, 4) float32 as x, y, width, height in source pixels (NaN when no
    face), found (M,) bool. `found` is also True on up to
    FaceConfig.hold_frames samples after the face was last detected, which
    then repeat its last box. Crops of frames without a face are zeros.
    """

    times_s: np.ndarray
    crops: np.ndarray
    boxes: np.ndarray
    found: np.ndarray

    @property
    def face_ratio(self) -> float:
        """Share of sampled frames with a face (0.0 when nothing was sampled)."""
        return float(self.found.mean()) if self.found.size else 0.0

    def has_face(self, min_ratio: float = 0.1) -> bool:
        """Return True when at least `min_ratio` of the sampled frames show a face."""
        return self.found.size > 0 and self.face_ratio >= min_ratio

    def between(self, start_s: float, end_s: float) -> FaceTrack:
        """Return the samples with start_s <= time < end_s (for per-clip flags)."""
        keep = (self.times_s >= start_s) & (self.times_s < end_s)
        return FaceTrack(self.times_s[keep], self.crops[keep], self.boxes[keep], self.found[keep])


EYE_SEARCH_WIDTH = 96  # pixels; eye detection runs on the upper face scaled to this width

_cascades: dict[str, cv2.CascadeClassifier] = {}
_cascade_lock = threading.Lock()


def _cascade(name: str) -> cv2.CascadeClassifier:
    with _cascade_lock:
        if name not in _cascades:
            path = Path(cv2.data.haarcascades) / name
            classifier = cv2.CascadeClassifier(str(path))
            if classifier.empty():
                raise FileNotFoundError(
                    f"OpenCV's Haar cascade {path} is missing or unreadable; reinstall opencv-python-headless."
                )
            _cascades[name] = classifier
    return _cascades[name]


def detect_faces(gray: np.ndarray, config: FaceConfig = FaceConfig(), near: np.ndarray | None = None) -> np.ndarray:
    """Return face boxes (K, 4) as x, y, width, height in the pixels of the greyscale image (H, W).

    With `near` (a box from the previous sample), only the region around it is
    searched, for faces of 0.75 to 1.33 times its size, which is faster than a
    search of the whole frame.
    """
    height, width = gray.shape[:2]
    min_side = max(16, int(min(height, width) * config.min_face_fraction))
    max_side = 0
    left = top = 0
    region = gray
    if near is not None:
        x, y, w, h = near
        left, top = max(0, int(x - w)), max(0, int(y - h))
        right, bottom = min(width, int(x + 2 * w)), min(height, int(y + 2 * h))
        region = gray[top:bottom, left:right]
        min_side = max(min_side, int(0.75 * w))
        max_side = int(1.33 * w)
        if region.shape[0] < min_side or region.shape[1] < min_side:
            return np.zeros((0, 4), dtype=np.float32)
    boxes = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        cv2.equalizeHist(region),
        scaleFactor=config.scale_factor,
        minNeighbors=config.min_neighbors,
        minSize=(min_side, min_side),
        maxSize=(max_side, max_side),
    )
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    boxes[:, 0] += left
    boxes[:, 1] += top
    return boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Return the intersection over union of two x, y, width, height boxes."""
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def choose_main_face(boxes: np.ndarray, frame_shape: tuple[int, int], previous: np.ndarray | None, min_iou: float):
    """Pick the face to follow: the best overlap with `previous`, else large and central.

    Returns the chosen box (4,) and whether it continues the previous track.
    """
    if len(boxes) == 0:
        return None, False
    if previous is not None:
        overlaps = [box_iou(box, previous) for box in boxes]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= min_iou:
            return boxes[best], True
    height, width = frame_shape
    diagonal = math.hypot(width, height)

    def score(box: np.ndarray) -> float:
        centre_x, centre_y = box[0] + box[2] / 2, box[1] + box[3] / 2
        off_centre = math.hypot(centre_x - width / 2, centre_y - height / 2) / diagonal  # 0 .. 0.5
        return box[2] * box[3] / (width * height) * (1.0 - off_centre)

    return max(boxes, key=score), False


def eye_roll_deg(gray: np.ndarray, box: np.ndarray, max_roll_deg: float) -> float | None:
    """Estimate the face's in-plane rotation in degrees from two detected eyes; None when unsure."""
    x, y, w, h = (int(round(v)) for v in box)
    upper = gray[max(0, y) : max(0, y + h // 2 + h // 10), max(0, x) : max(0, x + w)]
    if upper.size == 0 or w < 24:
        return None
    # Search the upper face at a width of EYE_SEARCH_WIDTH pixels: eyes are then
    # 12 to 32 pixels wide, and the search costs the same for any face size.
    scale = EYE_SEARCH_WIDTH / upper.shape[1]
    upper = cv2.resize(upper, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    eyes = _cascade("haarcascade_eye.xml").detectMultiScale(
        upper, scaleFactor=1.1, minNeighbors=5, minSize=(12, 12), maxSize=(32, 32)
    )
    if len(eyes) < 2:
        return None
    w = EYE_SEARCH_WIDTH
    # The two largest hits, ordered left to right, must be a fifth of the face width apart.
    eyes = sorted(eyes, key=lambda e: e[2] * e[3], reverse=True)[:2]
    (x1, y1, w1, h1), (x2, y2, w2, h2) = sorted(eyes, key=lambda e: e[0])
    left = (x1 + w1 / 2, y1 + h1 / 2)
    right = (x2 + w2 / 2, y2 + h2 / 2)
    if right[0] - left[0] < w / 5:
        return None
    angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    return angle if abs(angle) <= max_roll_deg else None


def crop_face(image: np.ndarray, box: np.ndarray, size: int, margin: float, roll_deg: float = 0.0) -> np.ndarray:
    """Cut a square around `box` (x, y, width, height) with `margin`, level it by `roll_deg`, scale to `size`.

    Parts of the square outside the image repeat the border pixels.
    """
    x, y, w, h = box
    centre = (float(x + w / 2), float(y + h / 2))
    side = max(w, h) * (1.0 + 2.0 * margin)
    scale = size / side
    # Rotate about the face centre and scale, then move the centre to the middle of the output.
    matrix = cv2.getRotationMatrix2D(centre, roll_deg, scale)
    matrix[0, 2] += size / 2 - centre[0]
    matrix[1, 2] += size / 2 - centre[1]
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class _MainFaceTracker:
    """Follows one face across samples: detection, choice, smoothing and short-gap holding."""

    def __init__(self, config: FaceConfig):
        self.config = config
        self.previous: np.ndarray | None = None  # the last box (x, y, width, height) in source pixels
        self.roll = 0.0  # degrees, smoothed over the track because single eye detections are noisy
        self.missed = 0

    def _candidates(self, gray: np.ndarray) -> np.ndarray:
        config = self.config
        detect_scale = min(1.0, config.detect_max_side / max(gray.shape[:2]))
        small = gray
        if detect_scale < 1.0:
            small = cv2.resize(gray, None, fx=detect_scale, fy=detect_scale, interpolation=cv2.INTER_AREA)
        if self.previous is not None:
            candidates = detect_faces(small, config, near=self.previous * detect_scale) / detect_scale
            if len(candidates):
                return candidates
        candidates = detect_faces(small, config) / detect_scale
        if len(candidates) == 0 and detect_scale < 1.0:
            # Small faces in large frames vanish at the detection size, so retry at twice the resolution.
            retry_scale = min(1.0, 2.0 * detect_scale)
            larger = cv2.resize(gray, None, fx=retry_scale, fy=retry_scale, interpolation=cv2.INTER_AREA)
            candidates = detect_faces(larger, config) / retry_scale
        return candidates

    def update(self, gray: np.ndarray) -> tuple[np.ndarray | None, float]:
        """Return the main face box (4,) of this greyscale frame, or None, and the roll in degrees."""
        config = self.config
        box, continues = choose_main_face(self._candidates(gray), gray.shape[:2], self.previous, config.min_iou)
        if box is not None:
            self.missed = 0
            if continues:
                box = config.smoothing * self.previous + (1.0 - config.smoothing) * box
            else:
                self.roll = 0.0
        elif self.previous is not None and self.missed < config.hold_frames:
            box = self.previous
            self.missed += 1

        if box is None:
            self.previous = None
            self.roll = 0.0
            return None, 0.0

        self.previous = box.astype(np.float32)
        if config.align_eyes:
            measured = eye_roll_deg(gray, self.previous, config.max_roll_deg)
            if measured is not None:
                self.roll = config.smoothing * self.roll + (1.0 - config.smoothing) * measured
        return self.previous, self.roll


def extract_faces(
    path: str | Path,
    fps: float = 5.0,
    start_s: float | None = None,
    end_s: float | None = None,
    size: int = 48,
    color: str = "gray",
    config: FaceConfig | None = None,
) -> FaceTrack:
    """Track the main face of a video at `fps` samples per second and crop it to `size` x `size`.

    `color` is "gray" (crops (M, size, size)) or "rgb" (crops (M, size, size, 3)).
    Raises NoVideoStreamError for files without video and the decoding errors
    of `iter_frames`. A video without any face gives a track whose `found`
    is all False and `has_face()` False.
    """
    if color not in ("gray", "rgb"):
        raise ValueError(f"color must be 'gray' or 'rgb', got {color!r}")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size!r}")
    tracker = _MainFaceTracker(config or FaceConfig())
    crop_shape = (size, size) if color == "gray" else (size, size, 3)

    times, crops, boxes, found = [], [], [], []
    for time_s, rgb in iter_frames(path, fps=fps, start_s=start_s, end_s=end_s):
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        box, roll = tracker.update(gray)
        times.append(time_s)
        found.append(box is not None)
        if box is None:
            boxes.append(np.full(4, np.nan, dtype=np.float32))
            crops.append(np.zeros(crop_shape, dtype=np.uint8))
        else:
            boxes.append(box)
            crops.append(crop_face(gray if color == "gray" else rgb, box, size, tracker.config.margin, roll))

    track = FaceTrack(
        times_s=np.asarray(times, dtype=np.float64),
        crops=np.stack(crops) if crops else np.zeros((0, *crop_shape), dtype=np.uint8),
        boxes=np.stack(boxes) if boxes else np.zeros((0, 4), dtype=np.float32),
        found=np.asarray(found, dtype=bool),
    )
    if not track.has_face():
        logger.warning("%s: no face in %d of %d sampled frames", path, int((~track.found).sum()), len(track.found))
    return track
