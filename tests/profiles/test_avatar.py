"""profiles.avatar: the type comes from the bytes, bombs are refused, only pixels survive."""

import pytest
from PIL import ExifTags, ImageCms, PngImagePlugin

from api.errors import ServiceError
from profiles.avatar import (
    MAX_EDGE,
    MAX_SOURCE_PIXELS,
    Avatar,
    ImageTooLarge,
    InvalidImage,
    UnsupportedImage,
    clean,
    sniff,
)
from tests.support.images import (
    EXIF_MARKER,
    animated_gif,
    animation,
    declared_png,
    gps_exif,
    image_file,
    noise_image,
    opened,
)
from tests.support.peak_memory import cost_of

FORMATS = [
    ("PNG", "png", "image/png"),
    ("JPEG", "jpg", "image/jpeg"),
    ("WEBP", "webp", "image/webp"),
    ("GIF", "gif", "image/gif"),
]
MARKER = b"SECRET-METADATA"


def rejected(data: bytes) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        clean(data)
    return caught.value


# -- sniff -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"\xff\xd8\xff\xe1\x00\x10Exif\x00", "JPEG"),
        (b"GIF87a\x01\x00\x01\x00", "GIF"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WEBP"),
    ],
)
def test_sniff_names_the_format_its_magic_number_announces(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\x89PNG",  # cut short
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"%PDF-1.7\n",
        b"<svg xmlns=",
        b"BM6\x00\x00\x00",  # BMP: an image, not one we take
        b"hello, world",
    ],
)
def test_sniff_refuses_anything_else(head):
    assert sniff(head) is None


# -- clean: what comes out -------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "extension", "content_type"), FORMATS)
def test_clean_reencodes_in_the_uploaded_format(fmt, extension, content_type):
    data = image_file(fmt, (64, 48))

    result = clean(data)

    assert isinstance(result, Avatar)
    assert (result.format, result.extension, result.content_type) == (fmt, extension, content_type)
    image = opened(result.data)
    assert (image.format, image.size) == (fmt, (64, 48))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_clean_drops_exif_and_gps(fmt):
    data = image_file(fmt, exif=gps_exif())
    assert opened(data).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload has a position

    result = clean(data)

    image = opened(result.data)
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert "exif" not in image.info
    assert EXIF_MARKER.encode() not in result.data


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def png_text() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", MARKER.decode())
    info.add_itxt("Location", MARKER.decode())
    return info


@pytest.mark.parametrize(
    ("fmt", "options", "info_key"),
    [
        pytest.param("PNG", {"pnginfo": png_text()}, "Comment", id="png-text"),
        pytest.param("PNG", {"icc_profile": srgb_profile()}, "icc_profile", id="png-icc"),
        pytest.param("JPEG", {"comment": MARKER}, "comment", id="jpeg-comment"),
        pytest.param(
            "JPEG", {"xmp": b"<x:xmpmeta>" + MARKER + b"</x:xmpmeta>"}, "xmp", id="jpeg-xmp"
        ),
        pytest.param("JPEG", {"icc_profile": srgb_profile()}, "icc_profile", id="jpeg-icc"),
        pytest.param(
            "WEBP", {"xmp": b"<x:xmpmeta>" + MARKER + b"</x:xmpmeta>"}, "xmp", id="webp-xmp"
        ),
        pytest.param("GIF", {"comment": MARKER}, "comment", id="gif-comment"),
    ],
)
def test_clean_keeps_pixels_only(fmt, options, info_key):
    """profiles/avatar.py: "re-encoded from pixels only"; _encode: "carries pixels only"."""
    data = image_file(fmt, **options)
    assert info_key in opened(data).info  # the upload carries the metadata

    result = clean(data)

    assert info_key not in opened(result.data).info
    assert MARKER not in result.data


def test_clean_drops_data_after_the_image():
    data = image_file("PNG") + b"<?php system($_GET['c']); ?>" + MARKER

    result = clean(data)

    assert MARKER not in result.data
    assert result.data.endswith(b"IEND\xaeB`\x82")


def test_clean_applies_the_exif_orientation_to_the_pixels():
    data = image_file("JPEG", (64, 32), exif=gps_exif(orientation=6))  # "rotate 90° CW"

    result = clean(data)

    image = opened(result.data)
    assert image.size == (32, 64)
    assert dict(image.getexif()) == {}


@pytest.mark.parametrize(
    ("size", "expected"),
    [((3000, 1500), (MAX_EDGE, 512)), ((800, 2048), (400, MAX_EDGE)), ((300, 200), (300, 200))],
)
def test_clean_scales_down_to_the_largest_edge(size, expected):
    result = clean(image_file("PNG", size))

    assert opened(result.data).size == expected


def test_clean_keeps_only_the_first_frame_of_an_animation():
    data = animated_gif(frames=3)
    assert opened(data).n_frames == 3

    result = clean(data)

    image = opened(result.data)
    assert (image.format, image.n_frames) == ("GIF", 1)


@pytest.mark.parametrize(
    ("fmt", "mode", "color", "expected_mode"),
    [
        ("JPEG", "CMYK", (0, 255, 255, 0), "RGB"),
        ("JPEG", "L", 128, "L"),
        ("PNG", "P", 3, "RGBA"),
        ("PNG", "1", 1, "L"),
        ("PNG", "I;16", 40000, "L"),
        ("PNG", "LA", (100, 50), "LA"),
        ("PNG", "RGBA", (1, 2, 3, 4), "RGBA"),
        ("WEBP", "RGBA", (1, 2, 3, 4), "RGBA"),
    ],
)
def test_clean_converts_to_a_mode_the_format_stores(fmt, mode, color, expected_mode):
    data = image_file(fmt, mode=mode, color=color)

    result = clean(data)

    image = opened(result.data)
    assert (image.format, image.mode) == (fmt, expected_mode)


# -- clean: what is refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text, named avatar.png", id="text"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", id="pdf"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"/>', id="svg"),
        pytest.param(image_file("BMP"), id="bmp"),
        pytest.param(image_file("TIFF"), id="tiff"),
    ],
)
def test_unsupported_type_is_415(data):
    failure = rejected(data)

    assert (type(failure), failure.code) == (UnsupportedImage, "unsupported_image_type")
    assert failure.message == "Upload a PNG, JPEG, WebP or GIF image."


def test_clean_scales_16_bit_greyscale_to_8_bits():
    data = image_file("PNG", (300, 200), mode="I;16", color=40000)

    result = clean(data)

    image = opened(result.data)
    assert (image.mode, image.size) == ("L", (300, 200))
    assert image.getpixel((0, 0)) == 40000 // 256  # not clipped to white


def test_clean_scales_down_a_16_bit_image_four_times_too_wide():
    """Pillow cannot reduce() mode I;16: such an upload was a ValueError, so a 500."""
    data = image_file("PNG", (4 * MAX_EDGE, 64), mode="I;16", color=40000)

    result = clean(data)

    assert opened(result.data).size == (MAX_EDGE, 16)


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((4096, 4097), id="one-row-over-our-16.8M-limit"),
        pytest.param((7_000, 7_000), id="over-our-limit"),
        pytest.param((20_000, 20_000), id="over-pillows-bomb-limit"),
    ],
)
def test_image_declaring_too_many_pixels_is_413(size):
    data = declared_png(*size)
    assert len(data) < 200

    failure = rejected(data)

    assert (type(failure), failure.code) == (ImageTooLarge, "image_too_large")


def test_pixel_limit_is_on_the_count_not_the_file():
    data = declared_png(3_000, 3_000)  # 9 M pixels: allowed, so decoded; the pixels are missing

    failure = rejected(data)

    assert (type(failure), failure.code) == (InvalidImage, "invalid_image")


def test_largest_source_an_avatar_takes_is_accepted():
    data = image_file("GIF", (4096, 4096), mode="L", color=0)  # GIF: cheap enough to reach it
    assert MAX_SOURCE_PIXELS == 4096 * 4096

    result = clean(data)

    assert opened(result.data).size == (MAX_EDGE, MAX_EDGE)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_is_400(fmt):
    data = noise_image(fmt, (128, 128))

    failure = rejected(data[: len(data) // 2])

    assert (type(failure), failure.code) == (InvalidImage, "invalid_image")
    assert failure.message == "The file is not a valid image."


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"not a chunk" * 10, id="png-magic-then-garbage"),
        pytest.param(b"\xff\xd8\xff" + b"\x00" * 64, id="jpeg-magic-then-garbage"),
        pytest.param(b"GIF89a" + image_file("PNG")[6:], id="gif-magic-png-body"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 garbage", id="webp-magic-then-garbage"),
    ],
)
def test_magic_number_without_an_image_is_400(data):
    failure = rejected(data)

    assert (type(failure), failure.code) == (InvalidImage, "invalid_image")


# -- cost: what one upload may spend -----------------------------------------------------------

PEAK_LIMIT_MIB = 64  # issue 11, item 6: "at most 64 MiB for the worst image the endpoint accepts"
PHONE_PHOTO = (4032, 3024)  # 12 Mpx, what phones take


def text_chunks(total: int) -> PngImagePlugin.PngInfo:
    """Return PNG zTXt chunks that inflate to `total` bytes of text (a few KiB on disk)."""
    info = PngImagePlugin.PngInfo()
    for index in range(2):
        info.add_text(f"note{index}", "a" * (total // 2), zip=True)
    return info


def largest(fmt: str, size: tuple[int, int], mode: str, **options) -> bytes:
    """Return an all-zero image of the most expensive kind, as large as the budget accepts.

    All zeros compress to a few KiB, well inside the 2 MiB upload limit: the worst case.
    """
    if options.pop("frames", 1) > 1:
        return animation(fmt, size, mode, frames=2, **options)
    color = 0 if len(mode) == 1 or mode.startswith("I") else (0,) * len(mode)
    return image_file(fmt, size, mode=mode, color=color, **options)


# The largest squares (or phone-photo shapes) profiles.avatar's budget accepts for each format
# and its costliest modes, found by bisection; one pixel more each way is refused (below).
WORST_ACCEPTED = [
    pytest.param("PNG", (2336, 2336), "RGBA", {}, id="png-rgba"),
    pytest.param("PNG", (2336, 2336), "P", {"transparency": 0}, id="png-palette-transparent"),
    pytest.param("PNG", (2336, 2336), "RGBA", {"pnginfo": text_chunks(1_900_000)}, id="png-text"),
    pytest.param("PNG", (3041, 3041), "RGB", {}, id="png-rgb"),
    pytest.param("PNG", (3041, 3041), "I;16", {}, id="png-16-bit-grey"),
    pytest.param("JPEG", (3480, 3480), "RGB", {"exif": gps_exif(orientation=6)}, id="jpeg"),
    pytest.param("JPEG", (3480, 3480), "RGB", {"progressive": True}, id="jpeg-progressive"),
    pytest.param(
        "JPEG", (2704, 2704), "RGB", {"progressive": True, "subsampling": 0}, id="jpeg-444"
    ),
    pytest.param("JPEG", (2408, 2408), "CMYK", {"progressive": True}, id="jpeg-cmyk"),
    pytest.param(
        "WEBP", (1577, 1577), "RGBA", {"lossless": True, "exif": gps_exif(6)}, id="webp-rgba"
    ),
    pytest.param("WEBP", (1577, 1577), "RGBA", {"frames": 2, "lossless": True}, id="webp-anim"),
    pytest.param("GIF", (4096, 4096), "P", {"frames": 2}, id="gif-anim"),
    pytest.param("GIF", (4096, 4096), "L", {}, id="gif-grey"),
]


@pytest.mark.parametrize(("fmt", "size", "mode", "options"), WORST_ACCEPTED)
def test_worst_accepted_image_costs_at_most_64_mib(fmt, size, mode, options):
    data = largest(fmt, size, mode, **options)
    assert len(data) < 2 * 2**20  # within the endpoint's byte limit

    cost = cost_of("profiles.avatar.clean", data)

    assert cost.outcome == "ok"
    assert cost.peak_mib <= PEAK_LIMIT_MIB, f"{cost.peak_mib:.1f} MiB"


@pytest.mark.parametrize(("fmt", "size", "mode", "options"), WORST_ACCEPTED)
def test_one_pixel_past_the_worst_accepted_image_is_413(fmt, size, mode, options):
    if size[0] * size[1] == MAX_SOURCE_PIXELS:
        size = (size[0], size[1] + 1)  # the pixel cap, not the memory budget, is the limit
    else:
        size = (size[0] + 1, size[1] + 1)

    failure = rejected(largest(fmt, size, mode, **options))

    assert (type(failure), failure.code) == (ImageTooLarge, "image_too_large")


def test_phone_photo_with_orientation_is_accepted_within_64_mib():
    data = largest("JPEG", PHONE_PHOTO, "RGB", exif=gps_exif(orientation=6))

    cost = cost_of("profiles.avatar.clean", data)

    assert cost.outcome == "ok"
    assert cost.peak_mib <= PEAK_LIMIT_MIB, f"{cost.peak_mib:.1f} MiB"
    assert opened(clean(data).data).size == (768, MAX_EDGE)  # rotated upright


def test_issue_png_of_40_mpx_is_refused_before_decoding():
    """Issue 11, item 6: a 151 KiB all-zero 6300 x 6300 RGBA PNG cost ~0.5 GB and 2 s."""
    data = largest("PNG", (6300, 6300), "RGBA")
    assert len(data) < 160 * 1024

    cost = cost_of("profiles.avatar.clean", data)

    assert cost.outcome == "image_too_large"
    assert cost.peak_mib < 8, f"{cost.peak_mib:.1f} MiB"


def test_png_with_more_text_than_pillow_may_keep_is_400_without_decoding_it():
    data = largest("PNG", (16, 16), "RGB", pnginfo=text_chunks(3 * 2**20))
    assert len(data) < 16 * 1024

    cost = cost_of("profiles.avatar.clean", data)

    assert cost.outcome == "invalid_image"
    assert cost.peak_mib < 8, f"{cost.peak_mib:.1f} MiB"
