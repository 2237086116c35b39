#!/usr/bin/env python3
"""Generate benchmark photos for scripts/bench: distinct 2-4 MB JPEGs with EXIF.

Usage: bench_data.py SRC_DIR PHOTOS ORDERS
Writes SRC_DIR/<order-id>/IMG_0001.jpg ... and a stamp file SRC_DIR.done;
does nothing if the stamp matches and every file is present.
"""
import os
import random
import shutil
import sys
from io import BytesIO

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

LO, HI = 2 * 1024 * 1024, 4 * 1000 * 1000  # "2-4 MB" under either definition of MB
CAMERAS = [("Apple", "iPhone 14 Pro"), ("samsung", "SM-S911B"), ("Google", "Pixel 8"),
           ("Canon", "Canon EOS R6"), ("NIKON CORPORATION", "NIKON Z 6_2"), ("Xiaomi", "2201123G")]
OFFSETS = ["+00:00", "+01:00", "+02:00", "-05:00", "+05:30"]


def dms(deg):
    d = abs(deg)
    m = (d - int(d)) * 60
    return (IFDRational(int(d)), IFDRational(int(m)), IFDRational(round((m - int(m)) * 6000), 100))


def exif_for(rng):
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = rng.choice(CAMERAS)  # Make, Model
    ex[0x0112] = rng.choice([1, 1, 1, 6, 6, 8, 3])  # Orientation
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = "2026:%02d:%02d %02d:%02d:%02d" % (  # DateTimeOriginal
        rng.randint(1, 6), rng.randint(1, 28), rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59))
    sub[0x9011] = rng.choice(OFFSETS)  # OffsetTimeOriginal
    if rng.random() < 0.6:  # GPS on some photos
        lat, lon = rng.uniform(-60, 60), rng.uniform(-170, 170)
        gps = ex.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    return ex


def photo(rng, exif):
    """Noise blended into a colour gradient; retried until the JPEG is 2-4 MB."""
    w = rng.randrange(1800, 2401, 8)
    size = (w, w * 3 // 4) if rng.random() < 0.7 else (w * 3 // 4, w)
    alpha = rng.uniform(0.55, 0.9)
    for _ in range(12):
        grad = Image.merge("RGB", [Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize(size)
                                   for _ in range(3)])
        noise = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
        img = Image.blend(grad, noise, alpha)
        buf = BytesIO()
        img.save(buf, "JPEG", quality=90, exif=exif)
        data = buf.getvalue()
        if LO <= len(data) <= HI:
            return data
        if len(data) < LO:
            if alpha >= 1.0:
                size = (size[0] * 11 // 10, size[1] * 11 // 10)
            alpha = min(1.0, alpha + 0.15)
        else:
            alpha -= 0.15
    raise SystemExit("could not hit the 2-4 MB size range")


def main():
    src, photos, orders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stamp = f"{src}.done"
    want = f"photos={photos} orders={orders} v1\n"
    rng = random.Random(f"evault-bench {photos} {orders}")
    ids = [f"SO-2026-{10481 + 37 * k}" for k in range(orders)]
    assign = list(range(min(photos, orders))) + [rng.randrange(orders) for _ in range(photos - orders)]
    rng.shuffle(assign)
    counts = [0] * orders
    paths = []
    for o in assign:
        counts[o] += 1
        paths.append(os.path.join(src, ids[o], f"IMG_{counts[o]:04d}.jpg"))
    if os.path.exists(stamp) and open(stamp).read() == want and all(map(os.path.exists, paths)):
        print(f"data: cached in {src}")
        return
    if os.path.exists(stamp):
        os.remove(stamp)
    shutil.rmtree(src, ignore_errors=True)
    for i, path in enumerate(paths, 1):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(photo(rng, exif_for(rng)))
        if i % 50 == 0:
            print(f"data: {i}/{photos} photos", file=sys.stderr)
    with open(stamp, "w") as f:
        f.write(want)
    print(f"data: generated {photos} photos in {orders} orders under {src}")


if __name__ == "__main__":
    main()
