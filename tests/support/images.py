"""Image files for upload tests, made with Pillow (or by hand where Pillow would need memory)."""

import io
import os
import struct
import zlib

from PIL import ExifTags, Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_MARKER = "SECRET-EXIF-DESCRIPTION"
GPS_LATITUDE = (52.0, 31.0, 12.0)


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """Return EXIF with a GPS position, a recognisable description and, if given, an orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = EXIF_MARKER
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: GPS_LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    return exif


def image_file(
    fmt: str,
    size: tuple[int, int] = (64, 48),
    *,
    mode: str = "RGB",
    color: object = (200, 30, 30),
    **save_options,
) -> bytes:
    """Return a solid image encoded as fmt ("PNG", "JPEG", "WEBP", "GIF") with save_options."""
    image = Image.new(mode, size, color)
    if fmt == "GIF" and mode == "RGB":
        image = image.convert("P")
    out = io.BytesIO()
    image.save(out, format=fmt, **save_options)
    return out.getvalue()


def noise_image(fmt: str, size: tuple[int, int]) -> bytes:
    """Return random pixels as fmt: they do not compress (a PNG is about 3 bytes per pixel)."""
    width, height = size
    image = Image.frombytes("RGB", size, os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def animated_gif(frames: int = 3, size: tuple[int, int] = (32, 32)) -> bytes:
    colors = [(255 * (i % 2), 80 * (i % 3), 40 * i % 256) for i in range(frames)]
    images = [Image.new("RGB", size, color).convert("P") for color in colors]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()


def animation(fmt: str, size: tuple[int, int], mode: str, *, frames: int, **save_options) -> bytes:
    """Return a transparent first frame followed by `frames - 1` red and black ones, as fmt."""
    colors = [(255 * (i % 2), 0, 0, 255 if i else 0) for i in range(frames)]
    images = [Image.new("RGBA", size, color).convert(mode) for color in colors]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=True, append_images=images[1:], **save_options)
    return out.getvalue()


def declared_png(width: int, height: int) -> bytes:
    """Return a few dozen bytes of PNG whose header declares width x height 1-bit pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def opened(data: bytes) -> Image.Image:
    """Return the image these bytes hold, decoded (raises if they are not one)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
