"""OCR with Debian's tesseract, as a subprocess with a timeout: optional, never needed for the
formats with text. Images are handed over on stdin as PGM, which tesseract (leptonica) reads
without any Python imaging library."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

# Russian, Chinese and English are the archive's languages; any of them installed is used.
WANTED_LANGUAGES = ("rus", "chi_sim", "eng")


class OcrFailed(Exception):
    pass


@functools.cache
def tesseract() -> str | None:
    return shutil.which("tesseract")


@functools.cache
def languages() -> tuple[str, ...]:
    """The wanted languages whose traineddata are installed, in WANTED_LANGUAGES's order."""
    program = tesseract()
    if program is None:
        return ()
    try:
        listed = subprocess.run([program, "--list-langs"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    installed = set(listed.stdout.decode("utf-8", "replace").split())
    return tuple(language for language in WANTED_LANGUAGES if language in installed)


def available() -> bool:
    return bool(languages())


def pgm(width: int, height: int, stride: int, pixels: bytes | memoryview) -> bytes:
    """An 8-bit grey image as binary PGM (rows without the bitmap's stride padding)."""
    header = b"P5\n%d %d\n255\n" % (width, height)
    if stride == width:
        return header + bytes(pixels[: width * height])
    view = memoryview(pixels)
    return header + b"".join(view[row * stride : row * stride + width] for row in range(height))


def recognise(image: bytes, *, timeout: float) -> str:
    """Text of one image (any format tesseract reads); OcrFailed on timeout or error."""
    program = tesseract()
    chosen = languages()
    if program is None or not chosen:
        raise OcrFailed("tesseract is not installed")
    # One thread per tesseract: pages are OCR'd one at a time per worker, and workers run in
    # parallel already; OpenMP threads would only compete for the same cores.
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            [program, "-", "-", "-l", "+".join(chosen)],
            input=image,
            capture_output=True,
            timeout=timeout,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OcrFailed(f"tesseract took longer than {timeout:g} s") from None
    except OSError as error:
        raise OcrFailed(f"tesseract could not run: {error}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrFailed(f"tesseract failed ({done.returncode}): {message[-1] if message else ''}")
    return done.stdout.decode("utf-8", "replace")
