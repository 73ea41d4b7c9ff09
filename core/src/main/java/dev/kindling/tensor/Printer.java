package dev.kindling.tensor;

/** toString: shape, dtype, grad info and values, cut short for large tensors (like PyTorch's summarised print). */
final class Printer {
    private static final int EDGE = 3;
    private static final int FULL_LIMIT = 1000;

    private Printer() {}

    static String format(Tensor t) {
        StringBuilder sb = new StringBuilder("tensor(");
        boolean summarise = t.numel() > FULL_LIMIT;
        values(t, new int[t.shape.length], 0, summarise, sb, 7);
        sb.append(", shape=").append(Shapes.str(t.shape));
        if (t.dtype != DType.FLOAT32) sb.append(", dtype=").append(t.dtype);
        if (t.gradFn != null) sb.append(", grad_fn=").append(t.gradFn.op);
        else if (t.requiresGrad) sb.append(", requires_grad=true");
        return sb.append(')').toString();
    }

    private static void values(Tensor t, int[] idx, int d, boolean summarise, StringBuilder sb, int indent) {
        if (d == t.shape.length) {
            int p = t.offset;
            for (int i = 0; i < idx.length; i++) p += idx[i] * t.strides[i];
            double v = Storage.getDouble(t.dtype, t.data, p);
            if (t.dtype.isFloatingPoint()) sb.append(String.format(java.util.Locale.ROOT, "%.4f", v)); // "1.5", not "1,5" in a German locale
            else sb.append((long) v);
            return;
        }
        sb.append('[');
        int n = t.shape[d];
        for (int i = 0; i < n; i++) {
            if (summarise && n > 2 * EDGE && i == EDGE) {
                sb.append("...");
                i = n - EDGE - 1;
                sb.append(d == t.shape.length - 1 ? ", " : ",\n" + " ".repeat(indent + d + 1));
                continue;
            }
            idx[d] = i;
            values(t, idx, d + 1, summarise, sb, indent);
            if (i < n - 1) sb.append(d == t.shape.length - 1 ? ", " : ",\n" + " ".repeat(indent + d + 1));
        }
        sb.append(']');
    }
}
