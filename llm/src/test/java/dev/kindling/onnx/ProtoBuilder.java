package dev.kindling.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes protobuf messages field by field, to build small .onnx files (well-formed or not) in tests. */
final class ProtoBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ProtoBuilder varint(int field, long v) {
        tag(field, 0);
        raw(v);
        return this;
    }

    ProtoBuilder bytes(int field, byte[] b) {
        tag(field, 2);
        raw(b.length);
        out.writeBytes(b);
        return this;
    }

    ProtoBuilder string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    ProtoBuilder message(int field, ProtoBuilder m) {
        return bytes(field, m.build());
    }

    ProtoBuilder float32(int field, float v) {
        tag(field, 5);
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
        return this;
    }

    byte[] build() {
        return out.toByteArray();
    }

    private void tag(int field, int type) {
        raw((long) field << 3 | type);
    }

    private void raw(long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }

    // ---------------------------------------------------------------- ONNX messages

    static ProtoBuilder node(String op, String name, String[] in, String... outs) {
        ProtoBuilder n = new ProtoBuilder();
        for (String i : in) n.string(1, i);
        for (String o : outs) n.string(2, o);
        return n.string(3, name).string(4, op);
    }

    static ProtoBuilder floatTensor(String name, int[] dims, float... values) {
        ProtoBuilder t = new ProtoBuilder();
        for (int d : dims) t.varint(1, d);
        t.varint(2, 1).string(8, name);
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return t.bytes(9, b.array());
    }

    /** A ValueInfoProto for a FLOAT tensor of fixed dims (-1: symbolic). */
    static ProtoBuilder floatInfo(String name, int... dims) {
        ProtoBuilder shape = new ProtoBuilder();
        for (int d : dims) shape.message(1, d < 0 ? new ProtoBuilder().string(2, "n") : new ProtoBuilder().varint(1, d));
        ProtoBuilder tensor = new ProtoBuilder().varint(1, 1).message(2, shape);
        return new ProtoBuilder().string(1, name).message(2, new ProtoBuilder().message(1, tensor));
    }

    static byte[] model(long opset, ProtoBuilder graph) {
        return new ProtoBuilder().varint(1, 8).message(7, graph).message(8, new ProtoBuilder().string(1, "").varint(2, opset)).build();
    }
}
