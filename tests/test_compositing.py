import cv2
import numpy as np

from tests.support.conditions import linear_to_srgb, srgb_to_linear
from tryon.compositing import Shadow, Texture, contact_shadow, draw_texture, prepare_layer, warp_texture
from tryon.lighting import Light


def solid(width, height, bgr, alpha):
    image = np.zeros((height, width, 4), np.uint8)
    image[..., :3] = bgr
    image[..., 3] = alpha
    return image


def test_premultiplied_blend_of_half_transparent_texture():
    frame = np.full((50, 50, 3), 100, np.uint8)
    texture = Texture.from_bgra(solid(20, 20, (200, 0, 50), 128))
    region = draw_texture(frame, texture, np.array([[1.0, 0, 10], [0, 1.0, 10], [0, 0, 1]]))
    alpha = 128 / 255  # blended in linear light, as light mixes
    expected = linear_to_srgb(
        srgb_to_linear(np.uint8([[[200, 0, 50]]])) * alpha + srgb_to_linear(np.uint8([[[100, 100, 100]]])) * (1 - alpha)
    )[0, 0]
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
    draw_texture(
        frame,
        texture,
        np.array([[1.0, 0, 30], [0, 1.0, 30], [0, 0, 1]]),
        shadow=Shadow(offset=(0, 6), blur=2, strength=0.5),
    )
    assert frame[38, 40].mean() < 180 and frame[20, 40].mean() == 200


def test_mip_levels_halve():
    texture = Texture.from_bgra(solid(256, 64, (1, 2, 3), 255))
    sizes = [level.shape[:2] for level in texture.levels]
    assert sizes[:3] == [(64, 256), (32, 128), (16, 64)]
    assert cv2.countNonZero(texture.levels[-1][..., 3]) == texture.levels[-1][..., 3].size


def test_texture_is_lit_by_the_scene_light():
    """A product photo's colours are under the reference light: in dim, warm light it records dimmer and warmer."""
    texture = Texture.from_bgra(solid(20, 20, (180, 180, 180), 255))
    reference, warm = np.zeros((40, 40, 3), np.uint8), np.zeros((40, 40, 3), np.uint8)
    place = np.array([[1.0, 0, 10], [0, 1.0, 10], [0, 0, 1]])
    draw_texture(reference, texture, place)
    gains = np.array([0.25, 0.39, 0.5], np.float32)  # B, G, R: half the exposure, warm white balance
    draw_texture(warm, texture, place, light=Light(gains))
    expected = linear_to_srgb(srgb_to_linear(reference[20:21, 20:21]) * gains)[0, 0]
    assert np.abs(warm[20, 20].astype(int) - expected).max() <= 1
    assert warm[20, 20, 2] > warm[20, 20, 1] > warm[20, 20, 0]


def test_contact_shadow_darkens_a_soft_spot_only():
    frame = np.full((60, 60, 3), 180, np.uint8)
    contact_shadow(frame, np.array([[30.0, 30.0]]), sigma=3.0, strength=0.4)
    assert frame[30, 30].mean() < 150 and frame[30, 36].mean() > frame[30, 30].mean()
    assert (frame[:, :15] == 180).all()


def test_a_layer_blends_as_the_texture_draws_and_moves_with_the_face():
    """A prepared layer blended gives what drawing the texture gives; carried by a whole-pixel shift
    it lands shifted, unchanged; carried out of the frame it is gone."""
    frame = np.full((80, 120, 3), 90, np.uint8)
    texture = Texture.from_bgra(solid(20, 12, (40, 160, 220), 200))
    place = np.array([[1.0, 0, 30.3], [0, 1.0, 20.6], [0, 0, 1]])
    drawn = frame.copy()
    draw_texture(drawn, texture, place, shadow=Shadow((1.0, 3.0), 1.5, 0.4))
    layer = prepare_layer(warp_texture(frame.shape, texture, place, margin=8.0), shadow=Shadow((1.0, 3.0), 1.5, 0.4))
    blended = frame.copy()
    layer.blend(blended)
    assert np.array_equal(blended, drawn)

    moved = layer.moved(np.array([[1.0, 0, 17], [0, 1.0, -5], [0, 0, 1]]), frame.shape)
    shifted = frame.copy()
    moved.blend(shifted)
    x, y, w, h = layer.region
    assert np.abs(shifted[y - 5 : y - 5 + h, x + 17 : x + 17 + w].astype(int) - drawn[y : y + h, x : x + w]).max() <= 1
    assert layer.moved(np.array([[1.0, 0, 500], [0, 1.0, 0], [0, 0, 1]]), frame.shape) is None
