import cv2
import numpy as np

from tryon.compositing import Shadow, Texture, draw_texture


def solid(width, height, bgr, alpha):
    image = np.zeros((height, width, 4), np.uint8)
    image[..., :3] = bgr
    image[..., 3] = alpha
    return image


def test_premultiplied_blend_of_half_transparent_texture():
    frame = np.full((50, 50, 3), 100, np.uint8)
    texture = Texture.from_bgra(solid(20, 20, (200, 0, 50), 128))
    region = draw_texture(frame, texture, np.array([[1.0, 0, 10], [0, 1.0, 10], [0, 0, 1]]))
    alpha = 128 / 255
    expected = np.rint(np.array([200, 0, 50]) * alpha + 100 * (1 - alpha))
    assert np.abs(frame[20, 20].astype(int) - expected).max() <= 1
    assert np.array_equal(frame[2, 2], [100, 100, 100])
    x, y, w, h = region
    assert x >= 9 and y >= 9 and x + w <= 31 and y + h <= 31


def test_texture_outside_the_frame_draws_nothing():
    frame = np.full((50, 50, 3), 100, np.uint8)
    texture = Texture.from_bgra(solid(20, 20, (0, 0, 255), 255))
    assert draw_texture(frame, texture, np.array([[1.0, 0, 500], [0, 1.0, 10], [0, 0, 1]])) is None
    assert (frame == 100).all()


def test_minified_texture_is_smooth_not_aliased():
    stripes = solid(512, 512, (255, 255, 255), 255)
    stripes[:, ::2, :3] = 0  # one-pixel stripes average to mid grey
    frame = np.zeros((64, 64, 3), np.uint8)
    draw_texture(frame, Texture.from_bgra(stripes), np.array([[1 / 16, 0, 0], [0, 1 / 16, 0], [0, 0, 1]]))
    centre = frame[8:24, 8:24].astype(float)
    assert abs(centre.mean() - 127) < 12 and centre.std() < 6


def test_shadow_darkens_below_the_texture():
    frame = np.full((80, 80, 3), 200, np.uint8)
    texture = Texture.from_bgra(solid(20, 4, (0, 0, 0), 255))
    draw_texture(frame, texture, np.array([[1.0, 0, 30], [0, 1.0, 30], [0, 0, 1]]),
                 shadow=Shadow(offset=(0, 6), blur=2, strength=0.5))
    assert frame[38, 40].mean() < 180 and frame[20, 40].mean() == 200


def test_mip_levels_halve():
    texture = Texture.from_bgra(solid(256, 64, (1, 2, 3), 255))
    sizes = [level.shape[:2] for level in texture.levels]
    assert sizes[:3] == [(64, 256), (32, 128), (16, 64)]
    assert cv2.countNonZero(texture.levels[-1][..., 3]) == texture.levels[-1][..., 3].size
