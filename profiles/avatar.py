"""Make an uploaded avatar safe to publish: known type from its bytes, bounded, metadata-free.

The client's file name and Content-Type are ignored: the format is sniffed from the bytes, the
header's size is checked against what an avatar needs and what decoding would cost before any
pixel is decoded, and the image is re-encoded from pixels only, so EXIF (GPS position, camera)
and anything smuggled after the image data is dropped.
"""

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from api import errors

# Magic numbers (format specifications): PNG, JPEG, GIF87a/89a, WebP (RIFF....WEBP).
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
MAX_EDGE = 1024  # avatars are shown small; larger images are scaled down
# A source of 4096 x 4096 px has four times the largest avatar's edge each way, more than any
# downscale to MAX_EDGE can use, and covers the 12 Mpx photos phones take.
MAX_SOURCE_PIXELS = 4096 * 4096
# The memory one upload may make the decoder and the scaling hold, estimated from the header
# before any pixel is decoded; with the interpreter's own share an upload stays under 64 MiB
# (measured in tests/profiles/test_avatar.py, docs/testing.md).
MAX_DECODE_BYTES = 56 * 2**20
# Bytes per decoded pixel held while it is scaled down, by mode: the image (Pillow keeps RGB,
# RGBA and LA in 4 bytes), its premultiplied copy when it has alpha (Pillow resamples RGBa),
# and the reduced copy resampling starts from (at most a quarter of the pixels); a palette
# becomes RGBA first, 1-bit and 16-bit greyscale become L.
SCALING_BYTES = {"1": 3, "L": 2, "I;16": 5, "RGB": 5, "CMYK": 5, "LA": 9, "P": 9, "RGBA": 9}
# Pillow resamples in two passes: the first leaves a MAX_EDGE-wide, full-height RGBA image.
INTERMEDIATE_BYTES = 4 * MAX_EDGE
# WebP: libwebp's canvas and its disposed-frame copy, and Pillow's copy of the frame, per pixel.
WEBP_DECODER_BYTES = 12
# A JPEG decoder may hold every DCT coefficient (2 bytes each, 64 per 8x8 block of each
# component) for progressive and multi-scan files: libjpeg's full-image coefficient buffer.
JPEG_COEFFICIENT_BYTES = 2
# Pillow keeps a PNG's text chunks (tEXt, zTXt, iTXt) in memory, up to 64 MB by default
# (PngImagePlugin.MAX_TEXT_MEMORY, "to prevent decompression bombs"); avatars drop them anyway.
PngImagePlugin.MAX_TEXT_MEMORY = 2 * 2**20
# Modes Pillow cannot resample with filters, and what to resample them as (palettes keep their
# transparency in RGBA; 16-bit greyscale is scaled to 8 bits, not clipped).
WORKING_MODES = {"P": "RGBA", "1": "L", "I;16": "L", "I;16B": "L", "I;16L": "L", "I": "L"}


class UnsupportedImage(errors.UnsupportedType):
    code = "unsupported_image_type"
    message = "Upload a PNG, JPEG, WebP or GIF image."


class ImageTooLarge(errors.TooLarge):
    code = "image_too_large"
    message = "The image has too many pixels."


class InvalidImage(errors.InvalidInput):
    code = "invalid_image"
    message = "The file is not a valid image."


@dataclass(frozen=True)
class Avatar:
    data: bytes
    format: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def sniff(head: bytes) -> str | None:
    """Return the image format the leading bytes announce, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in SIGNATURES if head.startswith(magic)), None)


def clean(data: bytes) -> Avatar:
    """Return the avatar re-encoded from its pixels, in the format its bytes announce."""
    fmt = sniff(data[:16])
    if fmt is None:
        raise UnsupportedImage()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            pixels = _scaled_down(data, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge() from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage() from exc
    return Avatar(_encode(pixels, fmt), fmt)


def _decode_bytes(image: Image.Image, fmt: str, source_size: tuple[int, int]) -> int:
    """Return the memory decoding and scaling down this opened image take, from its header.

    For JPEG, call it after `draft()`: the coefficients cover the whole source, the pixels
    only the scaled-down image libjpeg writes.
    """
    width, height = image.size
    if fmt == "GIF":
        # A byte per pixel (palette or grey), and the reduced copy a grey image resamples from;
        # a palette image resamples without filters (Pillow's rule for mode P).
        return width * height * SCALING_BYTES["L"]
    held = width * height * SCALING_BYTES.get(image.mode, max(SCALING_BYTES.values()))
    held += height * INTERMEDIATE_BYTES
    if fmt == "WEBP":
        held += width * height * WEBP_DECODER_BYTES
    elif fmt == "JPEG":
        source_width, source_height = source_size
        h_max = max(h for _, h, _, _ in image.layer)
        v_max = max(v for _, _, v, _ in image.layer)
        blocks = sum(
            _blocks(source_width * h / h_max) * _blocks(source_height * v / v_max)
            for _, h, v, _ in image.layer
        )
        held += blocks * 64 * JPEG_COEFFICIENT_BYTES
    return held


def _blocks(samples: float) -> int:
    return math.ceil(samples / 8)


def _scaled_down(data: bytes, fmt: str) -> Image.Image:
    """Decode the first frame at most MAX_EDGE wide and high, refusing what costs too much.

    One full-size image is alive at a time (each step rebinds `image`, so the previous one is
    freed): JPEG is decoded at 1/2 to 1/8 scale while that still leaves the final size
    (libjpeg's DCT scaling), and the EXIF orientation is applied to the small result.
    """
    image = Image.open(io.BytesIO(data), formats=[fmt])
    source_size = image.size
    if source_size[0] * source_size[1] > MAX_SOURCE_PIXELS:
        raise ImageTooLarge()
    image.seek(0)  # first frame of an animation
    if fmt == "JPEG":
        image.draft(image.mode, _fitted(source_size))
    if _decode_bytes(image, fmt, source_size) > MAX_DECODE_BYTES:
        raise ImageTooLarge()
    image.load()
    if fmt != "GIF" and image.mode in WORKING_MODES:
        if image.mode.startswith("I"):
            image = image.point(lambda value: value / 256)  # 16-bit range to 8-bit
        image = image.convert(WORKING_MODES[image.mode])
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    ImageOps.exif_transpose(image, in_place=True)
    return image


def _fitted(size: tuple[int, int]) -> tuple[int, int]:
    """Return the size of an image scaled to fit MAX_EDGE (never up), aspect kept."""
    scale = min(1.0, MAX_EDGE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif fmt in ("PNG", "WEBP") and image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    elif fmt == "GIF" and image.mode not in ("P", "L"):
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    out = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "WEBP": {"quality": 85}}.get(fmt, {})
    # Pillow's savers fall back to image.info for EXIF, ICC profiles, comments and text
    # chunks: keep only palette transparency, which is part of the pixels.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    image.save(out, format=fmt, **options)
    return out.getvalue()
