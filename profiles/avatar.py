"""Make an uploaded avatar safe to publish: known type from its bytes, bounded, metadata-free.

The client's file name and Content-Type are ignored: the format is sniffed from the bytes,
the image is fully decoded (refusing decompression bombs) and re-encoded from pixels only, so
EXIF (GPS position, camera) and anything smuggled after the image data is dropped.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

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
MAX_SOURCE_PIXELS = 40_000_000  # a 2 MiB file that claims more is a decompression bomb
MAX_EDGE = 1024  # avatars are shown small; larger images are scaled down


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
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                width, height = image.size
                if width * height > MAX_SOURCE_PIXELS:
                    raise ImageTooLarge()
                image.seek(0)  # first frame of an animation
                pixels = ImageOps.exif_transpose(image)
                pixels.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge() from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage() from exc
    pixels.thumbnail((MAX_EDGE, MAX_EDGE))
    return Avatar(_encode(pixels, fmt), fmt)


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
