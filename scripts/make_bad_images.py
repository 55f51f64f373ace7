#!/usr/bin/python3
"""Write the small test images of adx's image decoder tests (tests/io/test_image.c).

    /usr/bin/python3 scripts/make_bad_images.py

PNGs are written by hand here (struct + zlib, no imaging library), so every pixel is known by a
formula that tests/io/test_image.c repeats. JPEGs need an encoder: they use PIL (Debian's python3-pil)
and are flat colours at quality 100 without chroma subsampling, so decoded values are known within +-1.

tests/data/img/io/   images that must decode:
  grey8_adam7.png   9x7   8-bit grey, Adam7-interlaced   v = (29x + 53y) & 255
  rgb8_adam7.png    10x6  8-bit RGB, Adam7-interlaced    R = (20x + y) & 255, G = (7x + 40y + 3) & 255,
                                                         B = (x*x + 5y*y) & 255
  grey16.png        5x4   16-bit grey                    v16 = 13107x + 4369y          (float v16/257)
  rgb16.png         3x2   16-bit RGB                     R = 30000x + 5000y, G = 65535 - R, B = 257(x+y)
  grey1.png         10x3  1-bit grey                     (x + y) odd -> 255 else 0
  grey8_trns.png    4x2   8-bit grey with a tRNS chunk   v = 40x + 100y (tRNS ignored)
  palette8.png      6x5   8-bit palette + tRNS           index (x + 2y) % 4 into PALETTE
  palette2.png      7x3   2-bit palette                  index (x * y) % 4 into PALETTE
  grey_alpha.png    4x4   8-bit grey+alpha               G = 60x + 3y, A = (17xy) & 255 (alpha ignored)
  rgba.png          5x3   8-bit RGBA                     R = 50x, G = 100y, B = 20(x+y), A = 60x
  flat_rgb.jpg      16x16 baseline JPEG, q=100, 4:4:4    (200, 100, 50)
  flat_grey.jpg     8x8   greyscale JPEG, q=100          77
  flat_prog.jpg     24x16 progressive JPEG, q=100, 4:4:4 (30, 60, 90)
  cmyk.jpg          8x8   CMYK JPEG (unsupported)
tests/data/img/bad/  images that must be refused:
  truncated.png     grey8_adam7-like 64x64 PNG cut in the middle of IDAT          -> FORMAT
  truncated.jpg     a 64x64 noisy JPEG cut in half                                  -> FORMAT
  corrupt.jpg       the same JPEG with garbage bytes in the entropy-coded data      -> FORMAT
  huge.png          IHDR 100000x100000 (valid CRCs), a tiny IDAT                    -> LIMIT
  huge.jpg          SOF0 65000x65000                                                -> LIMIT
  zero_width.png    IHDR width 0 (valid CRC)                                        -> FORMAT
  bad_crc.png       a valid PNG whose IHDR CRC is wrong                             -> FORMAT
  not_an_image.png  text                                                            -> FORMAT
  empty.png         0 bytes                                                         -> FORMAT
"""
import io
import os
import random
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = os.path.join(ROOT, "tests", "data", "img", "io")
BAD = os.path.join(ROOT, "tests", "data", "img", "bad")

PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)


def pack_row(samples, depth):
    """samples: flat list of channel values for one row."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def png(w, h, depth, ctype, pixel, interlace=False, extra=b""):
    """pixel(x, y) -> tuple of channel samples. extra: chunks placed before IDAT."""
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            xs, ys = list(range(x0, w, dx)), list(range(y0, h, dy))
            if not xs or not ys:
                continue
            for y in ys:
                raw += b"\x00" + pack_row([s for x in xs for s in pixel(x, y)], depth)
    else:
        raw = b"".join(b"\x00" + pack_row([s for x in range(w) for s in pixel(x, y)], depth) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def jpeg(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def main():
    os.makedirs(GOOD, exist_ok=True)
    os.makedirs(BAD, exist_ok=True)
    plte = chunk(b"PLTE", bytes(c for rgb in PALETTE for c in rgb))

    write(os.path.join(GOOD, "grey8_adam7.png"), png(9, 7, 8, 0, lambda x, y: ((29 * x + 53 * y) & 255,), True))
    write(os.path.join(GOOD, "rgb8_adam7.png"),
          png(10, 6, 8, 2, lambda x, y: ((20 * x + y) & 255, (7 * x + 40 * y + 3) & 255, (x * x + 5 * y * y) & 255),
              True))
    write(os.path.join(GOOD, "grey16.png"), png(5, 4, 16, 0, lambda x, y: (13107 * x + 4369 * y,)))
    write(os.path.join(GOOD, "rgb16.png"),
          png(3, 2, 16, 2, lambda x, y: (30000 * x + 5000 * y, 65535 - 30000 * x - 5000 * y, 257 * (x + y))))
    write(os.path.join(GOOD, "grey1.png"), png(10, 3, 1, 0, lambda x, y: ((x + y) % 2,)))
    write(os.path.join(GOOD, "grey8_trns.png"),
          png(4, 2, 8, 0, lambda x, y: (40 * x + 100 * y,), extra=chunk(b"tRNS", struct.pack(">H", 40))))
    write(os.path.join(GOOD, "palette8.png"),
          png(6, 5, 8, 3, lambda x, y: ((x + 2 * y) % 4,), extra=plte + chunk(b"tRNS", bytes([0, 128]))))
    write(os.path.join(GOOD, "palette2.png"), png(7, 3, 2, 3, lambda x, y: ((x * y) % 4,), extra=plte))
    write(os.path.join(GOOD, "grey_alpha.png"), png(4, 4, 8, 4, lambda x, y: (60 * x + 3 * y, (17 * x * y) & 255)))
    write(os.path.join(GOOD, "rgba.png"), png(5, 3, 8, 6, lambda x, y: (50 * x, 100 * y, 20 * (x + y), 60 * x)))

    from PIL import Image  # only the JPEGs need an encoder
    write(os.path.join(GOOD, "flat_rgb.jpg"),
          jpeg(Image.new("RGB", (16, 16), (200, 100, 50)), quality=100, subsampling=0))
    write(os.path.join(GOOD, "flat_grey.jpg"), jpeg(Image.new("L", (8, 8), 77), quality=100))
    write(os.path.join(GOOD, "flat_prog.jpg"),
          jpeg(Image.new("RGB", (24, 16), (30, 60, 90)), quality=100, subsampling=0, progressive=True))
    write(os.path.join(GOOD, "cmyk.jpg"), jpeg(Image.new("CMYK", (8, 8), (10, 20, 30, 40)), quality=95))

    # ---- bad images
    big = png(64, 64, 8, 0, lambda x, y: ((x * 7 + y * 13 + x * y) & 255,))
    write(os.path.join(BAD, "truncated.png"), big[:len(big) // 2])

    rnd = random.Random(7)
    noisy = Image.frombytes("RGB", (64, 64), bytes(rnd.randrange(256) for _ in range(64 * 64 * 3)))
    nj = jpeg(noisy, quality=90)
    write(os.path.join(BAD, "truncated.jpg"), nj[:len(nj) // 2])
    sos = nj.index(b"\xff\xda")
    mid = sos + (len(nj) - sos) // 2
    # 0xFF 0xD9 (EOI) in the middle of the scan: an early end of image, libjpeg warns "premature end"
    # or complains about a bad Huffman code / corrupt data
    write(os.path.join(BAD, "corrupt.jpg"), nj[:mid] + b"\xff\xd9" + bytes(64) + nj[mid:])

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    write(os.path.join(BAD, "huge.png"), b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
          + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))

    small = jpeg(Image.new("L", (8, 8), 128), quality=90)
    sof = small.index(b"\xff\xc0")  # SOF0: FFC0 len(2) precision(1) height(2) width(2)
    write(os.path.join(BAD, "huge.jpg"), small[:sof + 5] + struct.pack(">HH", 65000, 65000) + small[sof + 9:])

    ihdr0 = struct.pack(">IIBBBBB", 0, 10, 8, 0, 0, 0, 0)
    write(os.path.join(BAD, "zero_width.png"), b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr0)
          + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))

    good = png(4, 4, 8, 0, lambda x, y: (x * 10 + y,))
    crc_at = 8 + 8 + 13  # signature, IHDR length+tag, IHDR data
    write(os.path.join(BAD, "bad_crc.png"), good[:crc_at] + bytes(b ^ 0xff for b in good[crc_at:crc_at + 4])
          + good[crc_at + 4:])

    write(os.path.join(BAD, "not_an_image.png"), b"this is a text file, not an image\n")
    write(os.path.join(BAD, "empty.png"), b"")
    print(f"wrote images under {GOOD} and {BAD}")


if __name__ == "__main__":
    main()
