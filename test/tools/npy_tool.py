#!/usr/bin/env python3
"""Makes, compares and breaks .npy files for Mnemo's tool tests.

Standard library only (the test suite must not need NumPy):

  npy_tool.py make OUT --shape 7,16 [--dtype f32|f16] [--seed S] [--scale X]
      Pseudo-random values; about one value in eight is 0.0 or -0.0, the
      corner cases of the Memory Layer's hashing.
  npy_tool.py compare A B [--tol 1e-5]
      Succeeds when every element satisfies |a - b| <= tol * max|b| over its
      row (the accuracy measure of Mnemo's numerical tests).
  npy_tool.py corrupt IN OUT --how truncate|magic|header-length|descr|
      fortran|big-endian|shape|trailing
      A copy of IN broken in one specific way.
"""

import argparse
import random
import struct
import sys

DTYPES = {"f32": ("<f4", "f", 4), "f16": ("<f2", "e", 2)}


def write_npy(path, descr, shape, payload, fortran=False):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00")
        f.write(struct.pack("<H", len(header)))
        f.write(header.encode("ascii"))
        f.write(payload)


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise SystemExit(path + ": not a .npy file")
    major = data[6]
    if major == 1:
        (length,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", data[8:12])
        start = 12
    header = eval(data[start:start + length].decode("ascii"))  # trusted test input
    descr = header["descr"]
    fmt = {"<f4": "f", "<f2": "e"}[descr]
    size = {"f": 4, "e": 2}[fmt]
    shape = header["shape"]
    count = 1
    for d in shape:
        count *= d
    values = struct.unpack("<%d%s" % (count, fmt), data[start + length:start + length + count * size])
    return shape, list(values)


def make(args):
    descr, fmt, _ = DTYPES[args.dtype]
    shape = [int(d) for d in args.shape.split(",")]
    count = 1
    for d in shape:
        count *= d
    rng = random.Random(args.seed)
    values = []
    for _ in range(count):
        pick = rng.randrange(16)
        if pick == 0:
            values.append(0.0)
        elif pick == 1:
            values.append(-0.0)
        else:
            values.append(rng.uniform(-1.0, 1.0) * args.scale)
    write_npy(args.out, descr, shape, struct.pack("<%d%s" % (count, fmt), *values))


def compare(args):
    shape_a, a = read_npy(args.a)
    shape_b, b = read_npy(args.b)
    if tuple(shape_a) != tuple(shape_b):
        raise SystemExit("shapes differ: %s vs %s" % (shape_a, shape_b))
    width = shape_b[-1] if shape_b else 1
    worst = 0.0
    for row in range(0, len(b), width):
        scale = max(max(abs(v) for v in b[row:row + width]), 1e-30)
        for i in range(row, row + width):
            worst = max(worst, abs(a[i] - b[i]) / scale)
    print("max error %.3g of the row's largest magnitude" % worst)
    if worst > args.tol:
        raise SystemExit("error %.3g exceeds %.3g" % (worst, args.tol))


def corrupt(args):
    with open(args.input, "rb") as f:
        data = bytearray(f.read())
    (length,) = struct.unpack("<H", data[8:10])
    header = data[10:10 + length].decode("ascii")
    how = args.how
    if how == "truncate":
        data = data[:len(data) - 7]
    elif how == "trailing":
        data += b"\x00" * 4
    elif how == "magic":
        data[1:6] = b"NUMPX"
    elif how == "header-length":
        data[8:10] = struct.pack("<H", 65000)
    else:
        replacements = {
            "descr": ("'<f", "'<c"),
            "fortran": ("False", "True "),
            "big-endian": ("'<f", "'>f"),
            "shape": ("'shape': (", "'shape': (-"),
        }
        old, new = replacements[how]
        if old not in header:
            raise SystemExit("cannot corrupt this header with " + how)
        header = header.replace(old, new, 1)
        padded = header.encode("ascii")
        if len(padded) != length:
            # Keep the data where it was: trim or pad the padding spaces.
            padded = padded.rstrip(b" \n")[:length - 1]
            padded += b" " * (length - 1 - len(padded)) + b"\n"
        data[10:10 + length] = padded
    with open(args.output, "wb") as f:
        f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make")
    p.add_argument("out")
    p.add_argument("--shape", required=True)
    p.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", type=float, default=1.0)
    p.set_defaults(run=make)
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tol", type=float, default=1e-5)
    p.set_defaults(run=compare)
    p = sub.add_parser("corrupt")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--how", required=True)
    p.set_defaults(run=corrupt)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
