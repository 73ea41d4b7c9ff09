package dev.kindling.onnx;

import java.util.Arrays;

/**
 * Numpy-style broadcasting for elementwise ops: the output shape, and a walk over the output in runs along the
 * innermost dimension with each operand's offset and stride (0 where it is broadcast). Adjacent dimensions that
 * every operand steps through contiguously are merged first, so a bias added to [B, T, H] is B*T runs of H and a
 * same-shape add is one run.
 */
final class Broadcast {
    private Broadcast() {}

    /** A run of {@code n} output elements from {@code out}; operand k starts at {@code offsets[k]} with {@code strides[k]}. */
    interface Run {
        void run(int out, int[] offsets, int[] strides, int n);
    }

    /** The broadcast shape of {@code shapes}, or an error naming them. */
    static int[] shape(String op, int[]... shapes) {
        int rank = 0;
        for (int[] s : shapes) rank = Math.max(rank, s.length);
        int[] out = new int[rank];
        Arrays.fill(out, 1);
        for (int[] s : shapes) {
            for (int i = 0; i < s.length; i++) {
                int o = rank - s.length + i, d = s[i];
                if (d == out[o] || d == 1) continue;
                if (out[o] == 1) out[o] = d;
                else throw new IllegalArgumentException(op + ": shapes " + describe(shapes) + " do not broadcast (dimension " + o + ": " + out[o] + " vs " + d + ")");
            }
        }
        return out;
    }

    /** Like {@link #shape} but with -1 for unknown dimensions (load-time inference); null if a rank is unknown. */
    static int[] inferShape(int[]... shapes) {
        int rank = 0;
        for (int[] s : shapes) {
            if (s == null) return null;
            rank = Math.max(rank, s.length);
        }
        int[] out = new int[rank];
        Arrays.fill(out, 1);
        for (int[] s : shapes) {
            for (int i = 0; i < s.length; i++) {
                int o = rank - s.length + i, d = s[i];
                if (d == 1 || d == out[o]) continue;
                if (out[o] == 1) out[o] = d;
                else if (d == -1 || out[o] == -1) out[o] = Math.max(d, out[o]);
                else throw new IllegalArgumentException("shapes " + describe(shapes) + " do not broadcast (dimension " + o + ": " + out[o] + " vs " + d + ")");
            }
        }
        return out;
    }

    static String describe(int[]... shapes) {
        StringBuilder sb = new StringBuilder();
        for (int[] s : shapes) sb.append(sb.isEmpty() ? "" : " and ").append(Arrays.toString(s));
        return sb.toString();
    }

    /** Walks {@code outShape} in runs; operand k has shape {@code in[k]} (broadcastable to outShape). */
    static void walk(int[] outShape, int[][] in, Run body) {
        int rank = outShape.length, k = in.length;
        int[][] st = new int[k][rank];
        for (int j = 0; j < k; j++) {
            int[] s = in[j], natural = Value.strides(s);
            for (int i = 0; i < s.length; i++) {
                int o = rank - s.length + i;
                st[j][o] = s[i] == 1 && outShape[o] != 1 ? 0 : natural[i];
            }
        }
        walkStrided(outShape, st, new int[k], body);
    }

    /** Walks {@code outShape} in runs with explicit operand strides and base offsets (views: transpose, slice). */
    static void walkStrided(int[] outShape, int[][] strides, int[] base, Run body) {
        int k = strides.length;
        // merge dims i and i+1 when every operand has stride[i] == stride[i+1] * size[i+1]; drop size-1 dims
        int[] dims = new int[outShape.length];
        int[][] st = new int[k][outShape.length];
        int r = 0;
        for (int i = 0; i < outShape.length; i++) {
            if (outShape[i] == 1) continue;
            boolean merge = r > 0;
            for (int j = 0; j < k && merge; j++) merge = st[j][r - 1] == strides[j][i] * outShape[i];
            if (merge) {
                dims[r - 1] *= outShape[i];
                for (int j = 0; j < k; j++) st[j][r - 1] = strides[j][i];
            } else {
                dims[r] = outShape[i];
                for (int j = 0; j < k; j++) st[j][r] = strides[j][i];
                r++;
            }
        }
        for (int d : outShape) if (d == 0) return;
        int[] off = base.clone(), inner = new int[k];
        if (r == 0) {
            body.run(0, off, inner, 1);
            return;
        }
        int n = dims[r - 1];
        for (int j = 0; j < k; j++) inner[j] = st[j][r - 1];
        int[] idx = new int[r - 1];
        int out = 0;
        while (true) {
            body.run(out, off, inner, n);
            out += n;
            int d = r - 2;
            for (; d >= 0; d--) {
                idx[d]++;
                for (int j = 0; j < k; j++) off[j] += st[j][d];
                if (idx[d] < dims[d]) break;
                for (int j = 0; j < k; j++) off[j] -= st[j][d] * dims[d];
                idx[d] = 0;
            }
            if (d < 0) return;
        }
    }

    /** A copy of {@code src} viewed with {@code strides} from {@code offset} as {@code outShape} (transpose, slice, expand). */
    static Value copy(Value src, int offset, int[] outShape, int[] strides) {
        Value out = Value.zeros(src.type, outShape);
        Object from = src.f != null ? src.f : src.d != null ? src.d : src.l;
        Object to = out.f != null ? out.f : out.d != null ? out.d : out.l;
        walkStrided(outShape, new int[][] {strides}, new int[] {offset}, (o, offs, s, n) -> {
            int a = offs[0], step = s[0];
            if (step == 1) System.arraycopy(from, a, to, o, n);
            else if (src.f != null) for (int i = 0; i < n; i++) out.f[o + i] = src.f[a + i * step];
            else if (src.d != null) for (int i = 0; i < n; i++) out.d[o + i] = src.d[a + i * step];
            else for (int i = 0; i < n; i++) out.l[o + i] = src.l[a + i * step];
        });
        return out;
    }
}
