package dev.kindling.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A reader of the protobuf wire format over one message's bytes: fields are (tag, value) pairs, the tag holding the
 * field number and one of four wire types (varint, 64-bit, length-delimited, 32-bit). Every length is checked
 * against the bytes that are left, so a truncated or lying file fails with the field and byte offset named instead
 * of reading past the message. {@code what} names the message for errors ("TensorProto 'w'").
 */
final class Wire {
    static final int VARINT = 0, I64 = 1, LEN = 2, I32 = 5;

    private final ByteBuffer buf; // positioned at the message start, limited at its end
    private final long base;      // file offset of buf's position 0, for error messages
    final String what;
    private int field, type;

    Wire(ByteBuffer buf, long base, String what) {
        this.buf = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.base = base;
        this.what = what;
    }

    /** Advances to the next field; false at the end of the message. */
    boolean next() {
        if (!buf.hasRemaining()) return false;
        long tag = varint();
        field = (int) (tag >>> 3);
        type = (int) (tag & 7);
        if (field == 0 || (type != VARINT && type != I64 && type != LEN && type != I32))
            throw error("bad field tag " + tag + " (field " + field + ", wire type " + type + ")");
        return true;
    }

    int field() {
        return field;
    }

    int type() {
        return type;
    }

    long offset() {
        return base + buf.position();
    }

    long varint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!buf.hasRemaining()) throw error("truncated varint");
            byte b = buf.get();
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) return result;
        }
        throw error("varint longer than 10 bytes");
    }

    /** The current field's value as an integer (varint, or fixed 32/64-bit). */
    long integer() {
        return switch (type) {
            case VARINT -> varint();
            case I64 -> { need(8); yield buf.getLong(); }
            case I32 -> { need(4); yield buf.getInt(); }
            default -> throw error("field " + field + " is length-delimited where an integer was expected");
        };
    }

    float float32() {
        expect(I32, "float");
        need(4);
        return buf.getFloat();
    }

    /** The current length-delimited field's bytes as a buffer of their own (no copy); advances past them. */
    ByteBuffer bytes() {
        expect(LEN, "length-delimited");
        long len = varint();
        if (len < 0 || len > buf.remaining())
            throw error("field " + field + " claims " + len + " bytes but only " + buf.remaining() + " are left");
        ByteBuffer out = buf.slice(buf.position(), (int) len).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(buf.position() + (int) len);
        return out;
    }

    /** File offset where the bytes of the length-delimited field just read began (for nested messages). */
    Wire message(String name) {
        expect(LEN, "message");
        long len = varint();
        if (len < 0 || len > buf.remaining())
            throw error("field " + field + " (" + name + ") claims " + len + " bytes but only " + buf.remaining() + " are left");
        long at = offset();
        Wire w = new Wire(buf.slice(buf.position(), (int) len), at, name);
        buf.position(buf.position() + (int) len);
        return w;
    }

    String string() {
        ByteBuffer b = bytes();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return new String(a, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Appends a repeated integer field, packed (LEN) or one element (varint/fixed). */
    void integers(LongList out, boolean zigzag, int fixedBytes) {
        if (type == LEN) {
            ByteBuffer b = bytes();
            Wire w = new Wire(b, offset() - b.remaining(), what);
            while (w.buf.hasRemaining()) out.add(fixedBytes == 8 ? w.fixed64() : fixedBytes == 4 ? w.fixed32() : w.varint());
        } else {
            out.add(integer());
        }
    }

    /** Appends a repeated float field, packed or single. */
    void floats(FloatList out) {
        if (type == LEN) {
            ByteBuffer b = bytes();
            if (b.remaining() % 4 != 0) throw error("packed floats of " + b.remaining() + " bytes (not a multiple of 4)");
            while (b.hasRemaining()) out.add(b.getFloat());
        } else {
            out.add(float32());
        }
    }

    /** Appends a repeated double field, packed or single. */
    void doubles(DoubleList out) {
        if (type == LEN) {
            ByteBuffer b = bytes();
            if (b.remaining() % 8 != 0) throw error("packed doubles of " + b.remaining() + " bytes (not a multiple of 8)");
            while (b.hasRemaining()) out.add(b.getDouble());
        } else {
            expect(I64, "double");
            need(8);
            out.add(buf.getDouble());
        }
    }

    private long fixed64() {
        need(8);
        return buf.getLong();
    }

    private long fixed32() {
        need(4);
        return buf.getInt() & 0xffffffffL;
    }

    /** Skips the current field's value. */
    void skip() {
        switch (type) {
            case VARINT -> varint();
            case I64 -> { need(8); buf.position(buf.position() + 8); }
            case I32 -> { need(4); buf.position(buf.position() + 4); }
            default -> bytes();
        }
    }

    private void need(int n) {
        if (buf.remaining() < n) throw error("field " + field + " needs " + n + " bytes but only " + buf.remaining() + " are left");
    }

    private void expect(int wireType, String kind) {
        if (type != wireType) throw error("field " + field + " has wire type " + type + " where a " + kind + " was expected");
    }

    OnnxFormatException error(String message) {
        return new OnnxFormatException("onnx: " + what + ": " + message + " at byte " + offset());
    }

    /** Growable primitive lists, so repeated fields do not box. */
    static final class LongList {
        long[] a = new long[8];
        int n;

        void add(long v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    static final class FloatList {
        float[] a = new float[8];
        int n;

        void add(float v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    static final class DoubleList {
        double[] a = new double[8];
        int n;

        void add(double v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        double[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
