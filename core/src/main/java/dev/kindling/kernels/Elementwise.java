package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise loops over float arrays with a stride per operand. Stride 1 runs on the Vector API, stride 0
 * (a broadcast scalar) too; any other stride runs the scalar loop, which is also every vector path's oracle
 * ({@link #binaryScalar}, {@link #unaryScalar}).
 */
public final class Elementwise {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Elementwise() {}

    public enum Binary { ADD, SUB, MUL, DIV, POW, MAX, MIN, EQ, NE, LT, LE, GT, GE }

    public enum Unary { NEG, EXP, LOG, SQRT, RSQRT, ABS, TANH, SIGMOID, RELU, GELU, GELU_TANH, SILU, RECIPROCAL, SIN, COS }

    /** out[o + i] = a[ao + i*as] op b[bo + i*bs] for i in [0, n). */
    public static void binary(Binary op, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o, int n) {
        int i = 0;
        if (as == 1 && (bs == 1 || bs == 0) && op.ordinal() <= Binary.MIN.ordinal() && op != Binary.POW) {
            int bound = S.loopBound(n);
            if (bs == 1) {
                for (; i < bound; i += S.length()) {
                    var x = FloatVector.fromArray(S, a, ao + i);
                    var y = FloatVector.fromArray(S, b, bo + i);
                    vbin(op, x, y).intoArray(out, o + i);
                }
            } else {
                var y = FloatVector.broadcast(S, b[bo]);
                for (; i < bound; i += S.length()) {
                    var x = FloatVector.fromArray(S, a, ao + i);
                    vbin(op, x, y).intoArray(out, o + i);
                }
            }
        } else if (as == 0 && bs == 1 && op.ordinal() <= Binary.MIN.ordinal() && op != Binary.POW) {
            int bound = S.loopBound(n);
            var x = FloatVector.broadcast(S, a[ao]);
            for (; i < bound; i += S.length()) {
                var y = FloatVector.fromArray(S, b, bo + i);
                vbin(op, x, y).intoArray(out, o + i);
            }
        }
        binaryScalar(op, a, ao + i * as, as, b, bo + i * bs, bs, out, o + i, n - i);
    }

    private static FloatVector vbin(Binary op, FloatVector x, FloatVector y) {
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
            case DIV -> x.div(y);
            case MAX -> x.lanewise(VectorOperators.MAX, y);
            case MIN -> x.lanewise(VectorOperators.MIN, y);
            default -> throw new AssertionError(op);
        };
    }

    /** The scalar oracle of {@link #binary}. */
    public static void binaryScalar(Binary op, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o, int n) {
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] + b[bo + i * bs]; }
            case SUB -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] - b[bo + i * bs]; }
            case MUL -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] * b[bo + i * bs]; }
            case DIV -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] / b[bo + i * bs]; }
            case POW -> { for (int i = 0; i < n; i++) out[o + i] = pow(a[ao + i * as], b[bo + i * bs]); }
            case MAX -> { for (int i = 0; i < n; i++) out[o + i] = max(a[ao + i * as], b[bo + i * bs]); }
            case MIN -> { for (int i = 0; i < n; i++) out[o + i] = min(a[ao + i * as], b[bo + i * bs]); }
            case EQ -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] == b[bo + i * bs] ? 1f : 0f; }
            case NE -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] != b[bo + i * bs] ? 1f : 0f; }
            case LT -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] < b[bo + i * bs] ? 1f : 0f; }
            case LE -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] <= b[bo + i * bs] ? 1f : 0f; }
            case GT -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] > b[bo + i * bs] ? 1f : 0f; }
            case GE -> { for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as] >= b[bo + i * bs] ? 1f : 0f; }
        }
    }

    // NaN-propagating max/min, like torch.maximum (Math.max also propagates NaN; kept explicit for the vector twin).
    private static float max(float x, float y) { return Math.max(x, y); }
    private static float min(float x, float y) { return Math.min(x, y); }

    private static float pow(float x, float y) {
        if (y == 2f) return x * x;
        return (float) Math.pow(x, y);
    }

    /** out[o + i] = op(a[ao + i*as]) for i in [0, n). */
    public static void unary(Unary op, float[] a, int ao, int as, float[] out, int o, int n) {
        int i = 0;
        if (as == 1) {
            int bound = S.loopBound(n);
            switch (op) {
                case NEG -> { for (; i < bound; i += S.length()) FloatVector.fromArray(S, a, ao + i).neg().intoArray(out, o + i); }
                case ABS -> { for (; i < bound; i += S.length()) FloatVector.fromArray(S, a, ao + i).abs().intoArray(out, o + i); }
                case SQRT -> { for (; i < bound; i += S.length()) FloatVector.fromArray(S, a, ao + i).sqrt().intoArray(out, o + i); }
                case RELU -> {
                    var zero = FloatVector.zero(S);
                    for (; i < bound; i += S.length()) {
                        var x = FloatVector.fromArray(S, a, ao + i);
                        // blend rather than max so that relu(NaN) stays NaN, as in PyTorch
                        x.blend(zero, x.compare(VectorOperators.LT, 0f)).intoArray(out, o + i);
                    }
                }
                // each transcendental loop is its own small method: inside this big switch the JIT runs out of
                // inlining budget, leaves VectorMath calls out of line, and boxes every vector (10x slower)
                case EXP -> i = expLoop(a, ao, out, o, bound);
                case TANH -> i = tanhLoop(a, ao, out, o, bound);
                case SIGMOID -> i = sigmoidLoop(a, ao, out, o, bound);
                case SILU -> i = siluLoop(a, ao, out, o, bound);
                case GELU_TANH -> i = geluTanhLoop(a, ao, out, o, bound);
                case GELU -> i = geluLoop(a, ao, out, o, bound);
                default -> { }
            }
        }
        // the tail uses the vector path's scalar twins, so a result never depends on where a loop split fell
        for (; i < n; i++) out[o + i] = applyLikeVector(op, a[ao + i * as]);
    }

    private static int expLoop(float[] a, int ao, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) VectorMath.exp(FloatVector.fromArray(S, a, ao + i)).intoArray(out, o + i);
        return i;
    }

    private static int tanhLoop(float[] a, int ao, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) VectorMath.tanh(FloatVector.fromArray(S, a, ao + i)).intoArray(out, o + i);
        return i;
    }

    private static int sigmoidLoop(float[] a, int ao, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) VectorMath.sigmoid(FloatVector.fromArray(S, a, ao + i)).intoArray(out, o + i);
        return i;
    }

    private static int siluLoop(float[] a, int ao, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) {
            var x = FloatVector.fromArray(S, a, ao + i);
            x.mul(VectorMath.sigmoid(x)).intoArray(out, o + i);
        }
        return i;
    }

    private static int geluLoop(float[] a, int ao, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) VectorMath.gelu(FloatVector.fromArray(S, a, ao + i)).intoArray(out, o + i);
        return i;
    }

    private static int geluTanhLoop(float[] a, int ao, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) {
            var x = FloatVector.fromArray(S, a, ao + i);
            var inner = x.mul(x).mul(x).mul(0.044715f).add(x).mul(SQRT_2_OVER_PI);
            VectorMath.tanh(inner).add(1f).mul(x).mul(0.5f).intoArray(out, o + i);
        }
        return i;
    }

    /** Per-element function exactly as the vector path computes it (the twin used for loop tails). */
    static float applyLikeVector(Unary op, float x) {
        return switch (op) {
            case EXP -> VectorMath.exp(x);
            case GELU -> VectorMath.gelu(x);
            case TANH -> VectorMath.tanh(x);
            case SIGMOID -> VectorMath.sigmoid(x);
            case SILU -> x * VectorMath.sigmoid(x);
            case GELU_TANH -> {
                float inner = (x * x * x * 0.044715f + x) * SQRT_2_OVER_PI;
                yield (VectorMath.tanh(inner) + 1f) * x * 0.5f;
            }
            default -> apply(op, x);
        };
    }

    static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    /**
     * Backward of a smooth activation: out[i] = g[i] * f'(x[i]) for GELU_TANH, SILU, SIGMOID and TANH (x and g
     * contiguous from their offsets). One pass; the vector path and its tail use the same float operations.
     */
    public static void activationBackward(Unary op, float[] x, int xo, float[] g, int go, float[] out, int o, int n) {
        if (op == Unary.RELU) {
            reluBackward(x, xo, g, go, out, o, n);
            return;
        }
        int bound = S.loopBound(n);
        int i = switch (op) {
            case GELU_TANH -> geluTanhBackwardLoop(x, xo, g, go, out, o, bound);
            case SILU -> siluBackwardLoop(x, xo, g, go, out, o, bound);
            case GELU -> geluBackwardLoop(x, xo, g, go, out, o, bound);
            default -> 0;
        };
        for (; i < n; i++) out[o + i] = g[go + i] * derivative(op, x[xo + i]);
    }

    /**
     * relu's gradient: g where x &gt; 0, else 0. A select, as PyTorch's threshold_backward (a NaN or infinite g
     * where x &lt;= 0 gives 0), in one vector pass: compare-then-multiply ran the scalar compare loop, whose
     * branch on the sign of each activation mispredicts half the time.
     */
    static void reluBackward(float[] x, int xo, float[] g, int go, float[] out, int o, int n) {
        int i = 0, bound = S.loopBound(n);
        var zero = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            var v = FloatVector.fromArray(S, x, xo + i);
            zero.blend(FloatVector.fromArray(S, g, go + i), v.compare(VectorOperators.GT, 0f)).intoArray(out, o + i);
        }
        for (; i < n; i++) out[o + i] = x[xo + i] > 0 ? g[go + i] : 0f;
    }

    private static int geluTanhBackwardLoop(float[] x, int xo, float[] g, int go, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) {
            var v = FloatVector.fromArray(S, x, xo + i);
            var v2 = v.mul(v);
            var th = VectorMath.tanh(v2.mul(0.044715f).add(1f).mul(v).mul(SQRT_2_OVER_PI));
            var dInner = v2.mul(3 * 0.044715f).add(1f).mul(SQRT_2_OVER_PI);
            var d = th.add(1f).mul(0.5f).add(v.mul(0.5f).mul(th.mul(th).neg().add(1f)).mul(dInner));
            d.mul(FloatVector.fromArray(S, g, go + i)).intoArray(out, o + i);
        }
        return i;
    }

    private static int geluBackwardLoop(float[] x, int xo, float[] g, int go, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length())
            VectorMath.geluDerivative(FloatVector.fromArray(S, x, xo + i)).mul(FloatVector.fromArray(S, g, go + i)).intoArray(out, o + i);
        return i;
    }

    private static int siluBackwardLoop(float[] x, int xo, float[] g, int go, float[] out, int o, int bound) {
        int i = 0;
        for (; i < bound; i += S.length()) {
            var v = FloatVector.fromArray(S, x, xo + i);
            var s = VectorMath.sigmoid(v);
            s.mul(v.mul(s.neg().add(1f)).add(1f)).mul(FloatVector.fromArray(S, g, go + i)).intoArray(out, o + i);
        }
        return i;
    }

    /** f'(x) with the same float operations as {@link #activationBackward}'s vector path. */
    static float derivative(Unary op, float v) {
        return switch (op) {
            case GELU_TANH -> {
                float v2 = v * v;
                float th = VectorMath.tanh((v2 * 0.044715f + 1f) * v * SQRT_2_OVER_PI);
                float dInner = (v2 * (3 * 0.044715f) + 1f) * SQRT_2_OVER_PI;
                yield (th + 1f) * 0.5f + v * 0.5f * (-(th * th) + 1f) * dInner;
            }
            case SILU -> {
                float s = VectorMath.sigmoid(v);
                yield s * (v * (-s + 1f) + 1f);
            }
            case GELU -> VectorMath.geluDerivative(v);
            default -> throw new IllegalArgumentException("no activation derivative for " + op);
        };
    }

    /** The scalar oracle of {@link #unary}. */
    public static void unaryScalar(Unary op, float[] a, int ao, int as, float[] out, int o, int n) {
        for (int i = 0; i < n; i++) out[o + i] = apply(op, a[ao + i * as]);
    }

    public static float apply(Unary op, float x) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> (float) Math.exp(x);
            case LOG -> (float) Math.log(x);
            case SQRT -> (float) Math.sqrt(x);
            case RSQRT -> (float) (1 / Math.sqrt(x));
            case ABS -> Math.abs(x);
            case TANH -> (float) Math.tanh(x);
            case SIGMOID -> (float) (1 / (1 + Math.exp(-x)));
            case RELU -> x < 0 ? 0f : x;
            case GELU -> (float) (0.5 * x * (1 + erf(x / Math.sqrt(2))));
            case GELU_TANH -> (float) (0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))));
            case SILU -> (float) (x / (1 + Math.exp(-x)));
            case RECIPROCAL -> 1f / x;
            case SIN -> (float) Math.sin(x);
            case COS -> (float) Math.cos(x);
        };
    }

    /**
     * The error function to about 1e-15 relative: Taylor series near 0, continued fraction (Lentz) for the
     * complement further out. Double precision so that GELU's float result is correctly rounded in practice.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 80; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else if (ax > 6) {
            r = 1;
        } else {
            r = 1 - erfcContinuedFraction(ax);
        }
        return x < 0 ? -r : r;
    }

    // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated with modified Lentz.
    private static double erfcContinuedFraction(double x) {
        double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 200; n++) {
            double an = n * 0.5;
            d = x + an * d;
            d = d == 0 ? tiny : d;
            c = x + an / c;
            c = c == 0 ? tiny : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    /** out[o+i] = a[o+i]; with strides (copy/gather of a strided row). */
    public static void copy(float[] a, int ao, int as, float[] out, int o, int n) {
        if (as == 1) System.arraycopy(a, ao, out, o, n);
        else if (as == 0) java.util.Arrays.fill(out, o, o + n, a[ao]);
        else for (int i = 0; i < n; i++) out[o + i] = a[ao + i * as];
    }

    /** acc[o+i] += a[ao+i*as] (gradient accumulation and broadcast-reduction rows). */
    public static void addInto(float[] a, int ao, int as, float[] acc, int o, int n) {
        int i = 0;
        if (as == 1) {
            int bound = S.loopBound(n);
            for (; i < bound; i += S.length())
                FloatVector.fromArray(S, acc, o + i).add(FloatVector.fromArray(S, a, ao + i)).intoArray(acc, o + i);
        }
        for (; i < n; i++) acc[o + i] += a[ao + i * as];
    }

    /** Elements per block of {@link #sum}: a multiple of every vector length. */
    static final int SUM_BLOCK = 1024;

    /**
     * Sum of a[ao + i*as] for i in [0, n). Contiguous: float lanes over blocks of {@link #SUM_BLOCK} elements,
     * each block's lanes added in lane order, the block totals and the tail added in double. Float lanes alone
     * lose digits over millions of elements: the mean pixel of Fashion-MNIST's 47M came out 0.2858 instead
     * of 0.2860. Strided: in double, in order.
     */
    public static float sum(float[] a, int ao, int as, int n) {
        if (as == 1) {
            int i = 0, bound = S.loopBound(n);
            double s = 0;
            while (i < bound) {
                int end = Math.min(bound, i + SUM_BLOCK);
                var acc = FloatVector.zero(S);
                for (; i < end; i += S.length()) acc = acc.add(FloatVector.fromArray(S, a, ao + i));
                s += VectorMath.sumLanes(acc);
            }
            for (; i < n; i++) s += a[ao + i];
            return (float) s;
        }
        double s = 0;
        for (int i = 0; i < n; i++) s += a[ao + i * as];
        return (float) s;
    }
}
