package dev.kindling.io;

import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * State dicts (name → tensor) to and from safetensors files: model weights, optimizer state and checkpoints.
 * Files are written atomically, so a crash mid-write leaves the previous file in place.
 */
public final class StateDicts {
    private StateDicts() {}

    /** What a file held: tensors in file order and the header's metadata. */
    public record Loaded(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** Writes the tensors (FLOAT32, BF16, F16, INT64, INT32 kept in their dtype) with metadata. */
    public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, SafetensorsWriter.Entry> entries = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) entries.put(e.getKey(), entry(e.getKey(), e.getValue()));
        SafetensorsWriter.write(file, entries, metadata);
    }

    private static SafetensorsWriter.Entry entry(String name, Tensor t) {
        int[] s = t.shape();
        long[] shape = new long[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = s[i];
        return switch (t.dtype()) {
            case FLOAT32 -> SafetensorsWriter.Entry.ofFloats(shape, t.toFloatArray());
            case BF16 -> SafetensorsWriter.Entry.ofBf16(shape, t.toFloatArray());
            case F16 -> SafetensorsWriter.Entry.ofF16(shape, t.toFloatArray());
            case INT64 -> SafetensorsWriter.Entry.ofLongs(shape, t.toLongArray());
            case INT32 -> {
                long[] v = t.toLongArray();
                int[] iv = new int[v.length];
                for (int i = 0; i < v.length; i++) iv[i] = (int) v[i];
                yield SafetensorsWriter.Entry.ofInts(shape, iv);
            }
            default -> throw new IllegalArgumentException("save: tensor '" + name + "' has dtype " + t.dtype() + ", which state dicts do not store");
        };
    }

    /** Reads every tensor into the heap: floating types as FLOAT32, integer types as INT64. */
    public static Loaded load(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (TensorInfo info : f.tensors()) {
                long[] ls = info.shape();
                int[] shape = new int[ls.length];
                for (int i = 0; i < ls.length; i++) {
                    if (ls[i] > Integer.MAX_VALUE) throw new FileFormatException(file + ": tensor '" + info.name() + "' dim " + ls[i] + " is too large");
                    shape[i] = (int) ls[i];
                }
                Tensor t = info.dtype().isFloatingPoint()
                        ? Tensor.wrap(f.readFloats(info.name()), shape)
                        : Tensor.wrapLongs(f.readLongs(info.name()), shape);
                out.put(info.name(), t);
            }
            return new Loaded(out, f.metadata());
        }
    }

    /** The entries whose names start with {@code prefix}, with the prefix removed. */
    public static Map<String, Tensor> withPrefix(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : all.entrySet()) if (e.getKey().startsWith(prefix)) out.put(e.getKey().substring(prefix.length()), e.getValue());
        return out;
    }

    /** A generator state (long[]) as metadata text. */
    public static String formatState(long[] state) {
        StringBuilder sb = new StringBuilder();
        for (long v : state) sb.append(sb.isEmpty() ? "" : ",").append(Long.toUnsignedString(v, 16));
        return sb.toString();
    }

    public static long[] parseState(String text) {
        if (text == null) throw new IllegalArgumentException("checkpoint has no generator state");
        String[] parts = text.split(",");
        long[] out = new long[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) out[i] = Long.parseUnsignedLong(parts[i], 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("checkpoint generator state is malformed: '" + text + "'");
        }
        return out;
    }
}
