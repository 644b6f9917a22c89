"""Face tracking on a real face clip, a clip without a face and generated inputs."""

import cv2
import numpy as np
import pytest

from core_model.errors import ConfigError, NoVideoStreamError
from core_model.media.decode import iter_frames
from core_model.media.faces import FaceConfig, FaceTrack, box_iou, crop_face, detect_faces, extract_faces, eye_roll_deg

from .helpers import AUDIOBOOK, MOSI_LONG, MOSI_SHORT

pytestmark = pytest.mark.timeout(120)


def test_mosi_face_found_in_most_frames():
    track = extract_faces(MOSI_LONG, fps=2.0)
    assert len(track.times_s) == 25
    assert track.face_ratio >= 0.9
    assert track.has_face()
    assert track.crops.shape == (25, 48, 48)
    assert track.crops.dtype == np.uint8
    boxes = track.boxes[track.found]
    assert np.all(boxes[:, 0] >= 0)
    assert np.all(boxes[:, 0] + boxes[:, 2] <= 480 + 1)
    assert np.all(boxes[:, 2] > 60)  # a webcam close-up, not a small false hit
    # Consecutive boxes of one tracked face overlap.
    overlaps = [box_iou(a, b) for a, b in zip(boxes, boxes[1:])]
    assert np.median(overlaps) > 0.5


def test_face_crops_rgb_and_size():
    track = extract_faces(MOSI_SHORT, fps=5.0, size=64, color="rgb")
    assert track.crops.shape == (len(track.times_s), 64, 64, 3)
    assert track.found.all()
    # A face crop has contrast; an empty crop would be flat.
    assert float(track.crops[0].std()) > 20


def test_audiobook_has_no_face():
    track = extract_faces(AUDIOBOOK, fps=2.0)
    assert len(track.times_s) == 30
    assert not track.has_face()
    assert not track.found.any()
    assert np.isnan(track.boxes).all()
    assert not track.crops.any()


def test_track_between_for_clip_flags():
    track = extract_faces(MOSI_SHORT, fps=5.0, start_s=0.5, end_s=2.0)
    assert track.times_s[0] == pytest.approx(0.5)
    part = track.between(1.0, 1.6)
    assert part.times_s.tolist() == pytest.approx([1.1, 1.3, 1.5])
    assert part.crops.shape[0] == 3


def test_faces_need_video(audio_only):
    with pytest.raises(NoVideoStreamError):
        extract_faces(audio_only)


def test_flat_video_has_no_face(video_only):
    track = extract_faces(video_only, fps=5.0)
    assert not track.has_face()


def test_crop_face_levels_rotation():
    image = np.zeros((200, 200), dtype=np.uint8)
    image[90:110, 40:160] = 255  # a horizontal bar through the box centre
    level = crop_face(image, np.array([50, 50, 100, 100], dtype=np.float32), size=50, margin=0.0)
    assert level.shape == (50, 50)
    assert level[25, 5] == 255
    assert level[5, 25] == 0
    turned = crop_face(image, np.array([50, 50, 100, 100], dtype=np.float32), size=50, margin=0.0, roll_deg=90)
    assert turned[5, 25] == 255
    assert turned[25, 5] == 0


def test_face_config_rejects_unknown_keys():
    assert FaceConfig.from_dict({"margin": 0.1}).margin == 0.1
    with pytest.raises(ConfigError, match="marginn"):
        FaceConfig.from_dict({"marginn": 0.1})


def test_face_track_empty():
    track = FaceTrack(np.zeros(0), np.zeros((0, 48, 48), np.uint8), np.zeros((0, 4), np.float32), np.zeros(0, bool))
    assert track.face_ratio == 0.0
    assert not track.has_face()


def test_extract_faces_rejects_bad_arguments():
    with pytest.raises(ValueError, match="color"):
        extract_faces(MOSI_SHORT, color="bgr")
    with pytest.raises(ValueError, match="size"):
        extract_faces(MOSI_SHORT, size=2)


def test_eye_roll_follows_rotation():
    frame = next(rgb for time_s, rgb in iter_frames(MOSI_SHORT, fps=2.0) if time_s >= 1.5)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    box = detect_faces(gray)[0]
    centre = (float(box[0] + box[2] / 2), float(box[1] + box[3] / 2))
    rolls = {}
    for angle in (-8, 8):
        matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
        turned = cv2.warpAffine(gray, matrix, gray.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
        rolls[angle] = eye_roll_deg(turned, box, max_roll_deg=30.0)
    assert rolls[-8] is not None
    assert rolls[8] is not None
    # Turning the image counter-clockwise by 16 degrees more lowers the measured roll by about as much.
    assert rolls[-8] - rolls[8] == pytest.approx(16.0, abs=6.0)
