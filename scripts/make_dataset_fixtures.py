#!/usr/bin/python3
"""Small dataset fixtures for tests/io/test_dataset.c, written under tests/data/datasets/.

Every file is a few KB. Expected pixel values are computed here with numpy (and PIL / PyTorch for the
JPEG and the resized image), independently of adx, and saved as float32 .npy files.

    /usr/bin/python3 scripts/make_dataset_fixtures.py
"""
import gzip
import os
import shutil
import struct

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "datasets")


def pattern(shape, seed):
    """Deterministic uint8 values covering 0..255."""
    n = int(np.prod(shape))
    return ((np.arange(n, dtype=np.int64) * 37 + seed * 101) % 256).astype(np.uint8).reshape(shape)


def idx_bytes(arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def save_npy(name, arr):
    np.save(os.path.join(ROOT, name), np.ascontiguousarray(arr, dtype=np.float32))


def chw(img_hwc_or_hw, model_c):
    """Raw CHW float32 for a model with model_c channels: grey replicated, RGB -> BT.601 luma for 1."""
    a = np.asarray(img_hwc_or_hw, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    a = a.transpose(2, 0, 1)
    if a.shape[0] == model_c:
        return a
    if a.shape[0] == 1:
        return np.repeat(a, model_c, axis=0)
    if a.shape[0] == 3 and model_c == 1:
        return (np.float32(0.299) * a[0] + np.float32(0.587) * a[1] + np.float32(0.114) * a[2])[None]
    raise ValueError("channels")


def make_idx():
    d = os.path.join(ROOT, "idx")
    imgs = pattern((3, 4, 5), 1)
    labels = np.array([3, 0, 7], dtype=np.uint8)
    # gzipped, with matching labels
    write(os.path.join(d, "tiny-images-idx3-ubyte.gz"), gz(idx_bytes(imgs)))
    write(os.path.join(d, "tiny-labels-idx1-ubyte.gz"), gz(idx_bytes(labels)))
    # plain, no labels file beside it
    write(os.path.join(d, "nolabels-images-idx3-ubyte"), idx_bytes(imgs))
    # plain, labels file with 2 entries for 3 images
    write(os.path.join(d, "mismatch-images-idx3-ubyte"), idx_bytes(imgs))
    write(os.path.join(d, "mismatch-labels-idx1-ubyte"), idx_bytes(labels[:2]))
    # RGB, 4-D (N,H,W,C)
    rgb = pattern((2, 4, 5, 3), 2)
    write(os.path.join(d, "rgb-images-idx4-ubyte"), idx_bytes(rgb))
    write(os.path.join(d, "rgb-labels-idx1-ubyte"), idx_bytes(np.array([1, 4], dtype=np.uint8)))
    # truncated: header declares 3x4x5 = 60 bytes, 50 follow; and a gzip stream cut short
    write(os.path.join(d, "trunc-images-idx3-ubyte"), idx_bytes(imgs)[:16 + 50])
    full = gz(idx_bytes(pattern((3, 16, 16), 3)))
    write(os.path.join(d, "gztrunc-images-idx3-ubyte.gz"), full[: len(full) // 2])
    # expected raw pixels
    save_npy("idx_tiny_c1.npy", np.stack([chw(im, 1) for im in imgs]))   # (3,1,4,5)
    save_npy("idx_tiny_c3.npy", np.stack([chw(im, 3) for im in imgs]))   # (3,3,4,5)
    save_npy("idx_rgb_c3.npy", np.stack([chw(im, 3) for im in rgb]))     # (2,3,4,5)
    save_npy("idx_rgb_c1.npy", np.stack([chw(im, 1) for im in rgb]))     # (2,1,4,5)


def make_folder():
    d = os.path.join(ROOT, "folder")
    if os.path.isdir(d):
        shutil.rmtree(d)
    grey_a = pattern((8, 8), 4)
    grey_b = pattern((8, 8), 5)
    rgb_c = pattern((8, 8, 3), 6)
    os.makedirs(os.path.join(d, "cat"))
    os.makedirs(os.path.join(d, "dog"))
    os.makedirs(os.path.join(d, ".hidden_class"))
    # written out of order: the reader sorts by name
    Image.fromarray(grey_b, "L").save(os.path.join(d, "cat", "b.png"))
    Image.fromarray(grey_a, "L").save(os.path.join(d, "cat", "a.png"))
    Image.fromarray(rgb_c, "RGB").save(os.path.join(d, "dog", "c.PNG"))
    # a flat-colour JPEG (decodes to a near-constant colour)
    flat = np.zeros((8, 8, 3), np.uint8)
    flat[:] = (200, 100, 50)
    Image.fromarray(flat, "RGB").save(os.path.join(d, "dog", "d.jpeg"), quality=95)
    jpeg = np.asarray(Image.open(os.path.join(d, "dog", "d.jpeg")).convert("RGB"))
    # to be skipped
    with open(os.path.join(d, "cat", "notes.txt"), "w") as f:
        f.write("not an image\n")
    Image.fromarray(grey_a, "L").save(os.path.join(d, "dog", ".hidden.png"))
    Image.fromarray(grey_a, "L").save(os.path.join(d, ".hidden_class", "x.png"))
    with open(os.path.join(d, "README"), "w") as f:
        f.write("a file at the top is not a class\n")
    items = [grey_a, grey_b, rgb_c, jpeg]  # cat/a.png, cat/b.png, dog/c.PNG, dog/d.jpeg
    save_npy("folder_c3.npy", np.stack([chw(im, 3) for im in items]))  # (4,3,8,8)
    save_npy("folder_c1.npy", np.stack([chw(im, 1) for im in items]))  # (4,1,8,8)

    # one class with an 8x8 and a 10x12 image: a shape error without resize, fine with resize 8 + crop 8
    s = os.path.join(ROOT, "sizes")
    if os.path.isdir(s):
        shutil.rmtree(s)
    os.makedirs(os.path.join(s, "only"))
    small = pattern((8, 8), 7)
    big = pattern((10, 12), 8)
    Image.fromarray(small, "L").save(os.path.join(s, "only", "a_small.png"))
    Image.fromarray(big, "L").save(os.path.join(s, "only", "b_big.png"))
    # torchvision Resize(8) (no antialias) -> CenterCrop(8): shorter side 10 -> 8, longer 12 -> int(8*12/10) = 9
    t = torch.from_numpy(big.astype(np.float32))[None, None]
    r = F.interpolate(t, size=(8, 9), mode="bilinear", align_corners=False)[0, 0].numpy()
    left = int(round((9 - 8) / 2.0))  # Python rounds half to even, as torchvision
    save_npy("sizes_big_resized.npy", r[:, left:left + 8][None])  # (1,8,8)

    # an empty-of-images folder (a class folder holding only a text file)
    e = os.path.join(ROOT, "noimages")
    if os.path.isdir(e):
        shutil.rmtree(e)
    os.makedirs(os.path.join(e, "cls"))
    with open(os.path.join(e, "cls", "readme.txt"), "w") as f:
        f.write("no images here\n")


def make_hdf5():
    d = os.path.join(ROOT, "h5")
    os.makedirs(d, exist_ok=True)
    u8 = pattern((4, 6, 5), 9)
    with h5py.File(os.path.join(d, "u8.h5"), "w") as f:
        f["images"] = u8
        f["labels"] = np.array([1, 0, 2, -1], dtype=np.int64)
    f32 = (pattern((3, 6, 5, 3), 10).astype(np.float32) + np.float32(0.25)) * np.float32(0.5)
    with h5py.File(os.path.join(d, "f32.h5"), "w") as f:
        f.create_dataset("images", data=f32, chunks=(1, 6, 5, 3), compression="gzip")
    f64 = pattern((2, 6, 5), 11).astype(np.float64) / 3.0
    with h5py.File(os.path.join(d, "f64.h5"), "w") as f:
        f["images"] = f64
        f["labels"] = np.array([5, 6], dtype=np.int32)
    with h5py.File(os.path.join(d, "noimages.h5"), "w") as f:
        f["data"] = u8
    with h5py.File(os.path.join(d, "badlabels.h5"), "w") as f:
        f["images"] = u8
        f["labels"] = np.array([1, 0, 2], dtype=np.int64)
    with h5py.File(os.path.join(d, "nchw.h5"), "w") as f:
        f["images"] = np.zeros((2, 3, 6, 5), np.float32)
    with h5py.File(os.path.join(d, "int16.h5"), "w") as f:
        f["images"] = np.zeros((2, 6, 5), np.int16)
    save_npy("h5_u8_c1.npy", np.stack([chw(im, 1) for im in u8]))                 # (4,1,6,5)
    save_npy("h5_u8_c3.npy", np.stack([chw(im, 3) for im in u8]))                 # (4,3,6,5)
    save_npy("h5_f32_c3.npy", np.stack([chw(im, 3) for im in f32]))               # (3,3,6,5)
    save_npy("h5_f64_c1.npy", np.stack([chw(im.astype(np.float32), 1) for im in f64]))  # (2,1,6,5)


def make_list():
    d = os.path.join(ROOT, "list")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "images.txt"), "w") as f:
        f.write("# images of the folder fixture, relative to this list\n")
        f.write("\n")
        f.write("../folder/dog/c.PNG\t1\n")
        f.write("  ../folder/cat/a.png  \r\n")
        f.write("../folder/cat/b.png\t4\n")
    with open(os.path.join(d, "badlabel.txt"), "w") as f:
        f.write("../folder/cat/a.png\tcat\n")
    with open(os.path.join(d, "missing.txt"), "w") as f:
        f.write("../folder/cat/a.png\n../folder/cat/nonexistent.png\n")
    with open(os.path.join(d, "empty.txt"), "w") as f:
        f.write("# nothing\n\n")


def main():
    os.makedirs(ROOT, exist_ok=True)
    make_idx()
    make_folder()
    make_hdf5()
    make_list()
    total = 0
    for dp, _, fs in os.walk(ROOT):
        for n in fs:
            total += os.path.getsize(os.path.join(dp, n))
    print("wrote %s (%d bytes)" % (os.path.normpath(ROOT), total))


if __name__ == "__main__":
    main()
