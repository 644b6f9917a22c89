#!/usr/bin/env bash
# Create or update the virtual environment given as $1 (default .venv).
# Dependencies are installed only when pyproject.toml changed since the last
# install (a hash is kept in the venv); the project itself is always
# reinstalled in editable mode, because a cached venv may serve several clones.
set -euo pipefail
venv=${1:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

# QtMultimedia needs PulseAudio's client library even when no sound plays.
if ! ldconfig -p 2>/dev/null | grep -q 'libpulse.so.0'; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing Debian package libpulse0 (needed by QtMultimedia)..."
        (apt-get install -y -q libpulse0 >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libpulse0 >/dev/null; }) ||
            echo "WARNING: could not install libpulse0; video playback will be unavailable." >&2
    else
        echo "WARNING: libpulse.so.0 not found. Install it (Debian/Ubuntu: sudo apt-get install libpulse0)" \
             "or video playback will be unavailable." >&2
    fi
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "Creating virtual environment in $venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
want=$(cat "$here/pyproject.toml" "$here/.ci/setup-venv.sh" | sha256sum | cut -c1-16)
have=$(cat "$venv/.deps-hash" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "Installing dependencies into $venv (first time: a few minutes)"
    "${pip[@]}" install --upgrade pip setuptools wheel
    # Install the CPU build of torch first when none is present; a plain
    # `torch>=2.6` on Linux would pull the multi-gigabyte CUDA build.
    # Set TORCH_SPEC to choose another build (for example a CUDA one).
    if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
        "${pip[@]}" install "${TORCH_SPEC:-torch==2.13.0}"
    fi
    "${pip[@]}" install -e "$here[test]"
    echo "$want" > "$venv/.deps-hash"
else
    "${pip[@]}" install --no-deps --no-build-isolation -e "$here"
fi
touch "$venv/.semi-iin-installed"
