#!/usr/bin/env python3
# Cross-checks l4mesh's istio-peer-exchange payload against Google's own protobuf runtime (python3-protobuf):
#   decode ANY_FILE        print the Struct inside the Any bytes in ANY_FILE as JSON (keys sorted)
#   encode JSON_FILE OUT   write Any(Struct) bytes for the JSON object in JSON_FILE to OUT
# Exit status 2 means the bytes were not an Any holding a google.protobuf.Struct.
import json
import sys

from google.protobuf import any_pb2, json_format, message, struct_pb2

STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct"


def decode(any_path):
    with open(any_path, "rb") as f:
        data = f.read()
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except message.DecodeError as err:
        print("not a google.protobuf.Any: %s" % err, file=sys.stderr)
        return 2
    if wrapper.type_url != STRUCT_TYPE_URL:
        print("unexpected type_url %r" % wrapper.type_url, file=sys.stderr)
        return 2
    struct = struct_pb2.Struct()
    try:
        unpacked = wrapper.Unpack(struct)
    except message.DecodeError as err:
        print("Any value is not a Struct: %s" % err, file=sys.stderr)
        return 2
    if not unpacked:
        print("Any does not unpack into a Struct", file=sys.stderr)
        return 2
    print(json.dumps(json_format.MessageToDict(struct), sort_keys=True))
    return 0


def encode(json_path, out_path):
    with open(json_path, "r", encoding="utf-8") as f:
        obj = json.load(f)
    struct = struct_pb2.Struct()
    struct.update(obj)
    wrapper = any_pb2.Any()
    wrapper.Pack(struct)  # type_url type.googleapis.com/google.protobuf.Struct
    with open(out_path, "wb") as f:
        f.write(wrapper.SerializeToString(deterministic=True))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "decode":
        return decode(argv[2])
    if len(argv) == 4 and argv[1] == "encode":
        return encode(argv[2], argv[3])
    print("usage: mx_crosscheck.py decode ANY_FILE | encode JSON_FILE OUT_FILE", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
