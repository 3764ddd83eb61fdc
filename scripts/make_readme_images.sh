#!/usr/bin/env bash
# Regenerate the README's before/after pictures with the CLI (photos from tests/data/faces).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/images
mkdir -p "$out"
render() {  # photo product...
    local photo=$1; shift
    local name; name=$(basename "$photo" .jpg)
    local args=(); for product in "$@"; do args+=(--product "$product"); done
    .venv/bin/python -c "import cv2,sys; i=cv2.imread(sys.argv[1]); cv2.imwrite(sys.argv[2], cv2.resize(i, (360, round(i.shape[0]*360/i.shape[1]))), [cv2.IMWRITE_JPEG_QUALITY, 88])" \
        "$photo" "$out/${name}_before.jpg"
    .venv/bin/tryon render "${args[@]}" "$out/${name}_before.jpg" -o "$out/${name}_$(IFS=+; echo "$*").jpg"
}
render tests/data/faces/001_neutral.jpg round
render tests/data/faces/061_neutral.jpg aviator
render tests/data/faces/103_neutral.jpg rectangular
render tests/data/faces/132_neutral.jpg cat-eye
render tests/data/faces/lisa3.jpg aviator
render tests/data/faces/lisa1.jpg evening
render tests/data/faces/lisa4.jpg natural rectangular

# One face in several looks (makeup looks, and one with glasses), composed into a grid.
looks=(natural evening golden-hour glossy "natural round")
tiles=("$out/looks_before.jpg")
.venv/bin/python -c "import cv2,sys; i=cv2.imread(sys.argv[1]); cv2.imwrite(sys.argv[2], i[120:570, 112:562])" \
    tests/data/faces/009_neutral.jpg "$out/looks_before.jpg"
for look in "${looks[@]}"; do
    args=(); for product in $look; do args+=(--product "$product"); done
    tile="$out/look_${look// /+}.jpg"
    .venv/bin/tryon render "${args[@]}" "$out/looks_before.jpg" -o "$tile"
    tiles+=("$tile")
done
.venv/bin/python - "$out/looks_grid.jpg" "${tiles[@]}" <<'PY'
import sys
import cv2
import numpy as np
target, paths = sys.argv[1], sys.argv[2:]
tiles = [cv2.resize(cv2.imread(p), (300, 300), interpolation=cv2.INTER_AREA) for p in paths]
rows = [np.hstack(tiles[i:i + 3]) for i in range(0, len(tiles), 3)]
cv2.imwrite(target, np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 90])
PY
rm -f "${tiles[@]}"
