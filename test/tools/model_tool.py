#!/usr/bin/env python3
"""Inspects and breaks model directories for Mnemo's tool tests.

Standard library only:

  model_tool.py break IN OUT --how HOW
      Copies the model directory IN to OUT, broken in one specific way:
        no-config, config-not-json, config-not-object, unknown-model-type,
        hidden-mismatch, tau-17, string-layers, no-weights, missing-tensor,
        misshapen-tensor, truncated, header-too-long, overlap, out-of-range,
        gap, bad-dtype, nan, inf, table-dtype, extra-tensor, header-not-json,
        number-overflow
  model_tool.py tensor DIR NAME
      Prints a tensor's dtype and shape.
  model_tool.py retype IN OUT --tensor NAME --dtype F32|F16|BF16
      Copies the model directory IN to OUT with tensor NAME stored in
      another dtype (the same values, rounded to nearest even).
  model_tool.py check-logits LOGITS.npy --tokens N --vocab V
      Succeeds when the .npy file is float32 [N, V] with finite values.
  model_tool.py argmax LOGITS.npy
      Prints the index of the largest logit of the last row.
  model_tool.py expect STATS.json KEY VALUE [--tol 0.05]
      Succeeds when the JSON object's KEY (a/b for nested keys) is within
      tol (relative) of VALUE; prints both.
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    return header, bytearray(data[8 + length:])


def write_safetensors(path, header, payload, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header)
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        f.write(payload)


def first_tensor(header, suffix):
    for name in header:
        if name != "__metadata__" and name.endswith(suffix):
            return name
    raise SystemExit("no tensor ending in " + suffix)


def decode(dtype, raw):
    count = len(raw) // (4 if dtype == "F32" else 2)
    if dtype == "F32":
        return list(struct.unpack("<%df" % count, raw))
    if dtype == "F16":
        return list(struct.unpack("<%de" % count, raw))
    halves = struct.unpack("<%dH" % count, raw)
    return list(struct.unpack("<%df" % count,
                              struct.pack("<%dI" % count,
                                          *[h << 16 for h in halves])))


def encode(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    words = struct.unpack("<%dI" % len(values),
                          struct.pack("<%df" % len(values), *values))
    rounded = [((w + 0x7FFF + ((w >> 16) & 1)) >> 16) & 0xFFFF for w in words]
    return struct.pack("<%dH" % len(values), *rounded)


def retype_model(src, dst, tensor, dtype):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    path = os.path.join(dst, "model.safetensors")
    header, payload = read_safetensors(path)
    names = sorted((n for n in header if n != "__metadata__"),
                   key=lambda n: header[n]["data_offsets"][0])
    out = bytearray()
    for name in names:
        entry = header[name]
        begin, end = entry["data_offsets"]
        raw = bytes(payload[begin:end])
        if name == tensor:
            raw = encode(dtype, decode(entry["dtype"], raw))
            entry["dtype"] = dtype
        entry["data_offsets"] = [len(out), len(out) + len(raw)]
        out += raw
    write_safetensors(path, header, out)


def break_model(src, dst, how):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    config_path = os.path.join(dst, "config.json")
    weights_path = os.path.join(dst, "model.safetensors")
    with open(config_path) as f:
        config = json.load(f)

    def write_config(c):
        with open(config_path, "w") as f:
            json.dump(c, f)

    if how == "no-config":
        os.remove(config_path)
    elif how == "config-not-json":
        with open(config_path, "w") as f:
            f.write('{"model_type": "memoryformer", ')
    elif how == "number-overflow":
        # A number JSON allows that no double holds (found by fuzzing).
        text = json.dumps(config).replace(
            '"layer_norm_eps": ' + json.dumps(config["layer_norm_eps"]),
            '"layer_norm_eps": 1e405')
        assert "1e405" in text
        with open(config_path, "w") as f:
            f.write(text)
    elif how == "config-not-object":
        with open(config_path, "w") as f:
            f.write("[1, 2, 3]")
    elif how == "unknown-model-type":
        config["model_type"] = "mamba"
        write_config(config)
    elif how == "hidden-mismatch":
        config["hidden_size"] = config["hidden_size"] + 4
        write_config(config)
    elif how == "tau-17":
        config["bits_per_table"] = 17
        write_config(config)
    elif how == "string-layers":
        config["num_layers"] = "2"
        write_config(config)
    elif how == "no-weights":
        os.remove(weights_path)
    else:
        header, payload = read_safetensors(weights_path)
        raw = None
        if how == "missing-tensor":
            # Drop the last tensor's entry and its bytes.
            name = max((n for n in header if n != "__metadata__"),
                       key=lambda n: header[n]["data_offsets"][1])
            begin = header[name]["data_offsets"][0]
            del header[name]
            payload = payload[:begin]
        elif how == "misshapen-tensor":
            name = first_tensor(header, "norm_out.weight")
            entry = header[name]
            entry["shape"] = [entry["shape"][0] // 2, 2]
        elif how == "truncated":
            payload = payload[:len(payload) // 2]
        elif how == "header-too-long":
            text = json.dumps(header)
            text += " " * ((8 - len(text) % 8) % 8)
            with open(weights_path, "wb") as f:
                f.write(struct.pack("<Q", 8 + len(text) + len(payload) + 1000))
                f.write(text.encode())
                f.write(payload)
            return
        elif how == "overlap":
            names = sorted((n for n in header if n != "__metadata__"),
                           key=lambda n: header[n]["data_offsets"][0])
            a, b = header[names[0]], header[names[1]]
            # b starts inside a and keeps its size; the end shrinks to fit.
            size = b["data_offsets"][1] - b["data_offsets"][0]
            b["data_offsets"] = [a["data_offsets"][1] - 2,
                                 a["data_offsets"][1] - 2 + size]
        elif how == "out-of-range":
            name = first_tensor(header, "lm_head.weight")
            begin, end = header[name]["data_offsets"]
            header[name]["data_offsets"] = [begin + (1 << 40), end + (1 << 40)]
        elif how == "gap":
            payload = payload + bytes(16)
        elif how == "bad-dtype":
            name = first_tensor(header, "norm_out.weight")
            header[name]["dtype"] = "Q7"
        elif how in ("nan", "inf"):
            name = first_tensor(header, "attn.q.tables" if any(
                n.endswith("attn.q.tables") for n in header) else "lm_head.weight")
            begin = header[name]["data_offsets"][0]
            dtype = header[name]["dtype"]
            if dtype == "F32":
                value = struct.pack("<f", float(how))
            elif dtype == "F16":
                value = struct.pack("<e", float(how))
            else:  # BF16: the high half of the f32
                value = struct.pack("<f", float(how))[2:]
            # Element 5 of the tensor.
            offset = begin + 5 * len(value)
            payload[offset:offset + len(value)] = value
        elif how == "table-dtype":
            name = first_tensor(header, "attn.q.tables")
            # Same size, other type: a float16 table declared BF16.
            if header[name]["dtype"] != "F16":
                raise SystemExit("table-dtype needs a float16 model")
            header[name]["dtype"] = "BF16"
        elif how == "extra-tensor":
            header["layers.999.attn.q.bias"] = {
                "dtype": "F32", "shape": [1],
                "data_offsets": [len(payload), len(payload) + 4]}
            payload = payload + struct.pack("<f", 1.0)
        elif how == "header-not-json":
            raw = '{"embed.weight": {"dtype": "F16", "shape": [2, '
        else:
            raise SystemExit("unknown --how " + how)
        write_safetensors(weights_path, header, payload, raw)


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + length].decode()
    descr = header.split("'descr': '")[1].split("'")[0]
    shape_text = header.split("'shape': (")[1].split(")")[0]
    shape = [int(s) for s in shape_text.split(",") if s.strip()]
    return descr, shape, data[10 + length:]


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("break")
    b.add_argument("src")
    b.add_argument("dst")
    b.add_argument("--how", required=True)
    t = sub.add_parser("tensor")
    t.add_argument("dir")
    t.add_argument("name")
    r = sub.add_parser("retype")
    r.add_argument("src")
    r.add_argument("dst")
    r.add_argument("--tensor", required=True)
    r.add_argument("--dtype", choices=["F32", "F16", "BF16"], required=True)
    c = sub.add_parser("check-logits")
    c.add_argument("path")
    c.add_argument("--tokens", type=int, required=True)
    c.add_argument("--vocab", type=int, required=True)
    a = sub.add_parser("argmax")
    a.add_argument("path")
    m = sub.add_parser("compare")
    m.add_argument("actual")
    m.add_argument("expected")
    m.add_argument("--tol", type=float, required=True)
    e = sub.add_parser("expect")
    e.add_argument("path")
    e.add_argument("key")
    e.add_argument("value", type=float)
    e.add_argument("--tol", type=float, default=0.05)
    args = parser.parse_args()

    if args.command == "break":
        break_model(args.src, args.dst, args.how)
    elif args.command == "retype":
        retype_model(args.src, args.dst, args.tensor, args.dtype)
    elif args.command == "tensor":
        header, _ = read_safetensors(os.path.join(args.dir, "model.safetensors"))
        entry = header[args.name]
        print(entry["dtype"], entry["shape"])
    elif args.command == "argmax":
        descr, shape, payload = read_npy(args.path)
        values = struct.unpack("<%df" % (len(payload) // 4), payload)
        last = values[-shape[1]:]
        print(max(range(len(last)), key=lambda i: (last[i], -i)))
    elif args.command == "expect":
        with open(args.path) as f:
            value = json.load(f)
        for part in args.key.split("/"):
            value = value[part]
        error = abs(value - args.value) / abs(args.value)
        print("%s = %.6g, expected %.6g (%.1f%% off)" %
              (args.key, value, args.value, 100 * error))
        if error > args.tol:
            sys.exit("%s is %.1f%% off, more than %.1f%%" %
                     (args.key, 100 * error, 100 * args.tol))
    elif args.command == "compare":
        # Largest difference relative to the largest expected magnitude.
        da, sa, pa = read_npy(args.actual)
        de, se, pe = read_npy(args.expected)
        if (da, sa) != (de, se):
            sys.exit("%s is %s %s, %s is %s %s" %
                     (args.actual, da, sa, args.expected, de, se))
        a = struct.unpack("<%df" % (len(pa) // 4), pa)
        b = struct.unpack("<%df" % (len(pe) // 4), pe)
        scale = max(abs(v) for v in b)
        diffs = [abs(x - y) for x, y in zip(a, b)]
        worst = max(diffs) / scale
        if not worst <= args.tol:
            cols = sa[-1]
            rows = [i for i in range(len(diffs) // cols)
                    if max(diffs[i * cols:(i + 1) * cols]) > args.tol * scale]
            sys.exit("max |difference| is %.3g of the largest logit %.3g, "
                     "more than %g (rows %s)" % (worst, scale, args.tol, rows))
        print("match: max |difference| %.3g of the largest logit" % worst)
    elif args.command == "check-logits":
        descr, shape, payload = read_npy(args.path)
        if descr != "<f4" or shape != [args.tokens, args.vocab]:
            sys.exit("logits are %s %s, expected <f4 [%d, %d]" %
                     (descr, shape, args.tokens, args.vocab))
        values = struct.unpack("<%df" % (len(payload) // 4), payload)
        if not all(math.isfinite(v) for v in values):
            sys.exit("logits hold NaN or infinity")
        print("logits ok: [%d, %d], max |logit| %.3g" %
              (args.tokens, args.vocab, max(abs(v) for v in values)))


if __name__ == "__main__":
    main()
