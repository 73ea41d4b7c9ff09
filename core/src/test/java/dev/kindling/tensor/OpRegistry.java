package dev.kindling.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * Every tensor op, registered once with its sample inputs, the domain its inputs must lie in, which inputs
 * are differentiable, its tolerances and its bad inputs (PyTorch's OpInfo idea). {@link OpRegistryTest}
 * runs the generic checks (gradient check, non-contiguous consistency, bad input) over all of them, so a
 * new op gets all three by registering here.
 *
 * <p>A sample input is a list of {@link Arg}s. A float arg names a logical shape, a value {@link Domain}
 * and a {@link Layout}: the test creates a contiguous leaf of the layout's base shape and the op sees a
 * view of it (transposed, sliced with step 2 from offset 1, or expanded from a size-1 dim), so both the op
 * on strided inputs and the view's backward are exercised. A fixed arg (indices, masks) is passed as is.
 */
final class OpRegistry {
    private OpRegistry() {}

    /**
     * Where generated values lie: ANY in [-2, 2), POSITIVE in [0.5, 2), NONZERO with |x| in [0.3, 2), TIES from
     * {-1, 0.5, 2} (so that values repeat: maximum/minimum at ties).
     */
    enum Domain { ANY, POSITIVE, NONZERO, TIES }

    /** How the op sees a generated input. */
    enum Layout {
        CONTIGUOUS(""), TRANSPOSED("T"), STRIDED("S"), EXPANDED("E");

        final String tag;

        Layout(String tag) {
            this.tag = tag;
        }
    }

    /** One input of a sample: generated (shape, domain, layout) or fixed. */
    record Arg(int[] shape, Domain domain, Layout layout, Tensor fixed) {
        Arg pos() { return new Arg(shape, Domain.POSITIVE, layout, fixed); }
        Arg nonzero() { return new Arg(shape, Domain.NONZERO, layout, fixed); }
        Arg ties() { return new Arg(shape, Domain.TIES, layout, fixed); }
        Arg t() { return new Arg(shape, domain, Layout.TRANSPOSED, fixed); }
        Arg s() { return new Arg(shape, domain, Layout.STRIDED, fixed); }
        Arg e() { return new Arg(shape, domain, Layout.EXPANDED, fixed); }

        boolean generated() {
            return fixed == null;
        }

        /** The shape of the contiguous leaf that the layout views as {@link #shape}. */
        int[] baseShape() {
            int[] b = shape.clone();
            int r = b.length;
            switch (layout) {
                case CONTIGUOUS -> { }
                case TRANSPOSED -> {
                    if (r < 2) throw new IllegalStateException("transposed layout needs rank >= 2, got " + Arrays.toString(shape));
                    b[r - 1] = shape[r - 2];
                    b[r - 2] = shape[r - 1];
                }
                case STRIDED -> {
                    if (r < 1) throw new IllegalStateException("strided layout needs rank >= 1");
                    b[r - 1] = 2 * shape[r - 1] + 1;
                }
                case EXPANDED -> b[expandedDim()] = 1;
            }
            return b;
        }

        private int expandedDim() {
            for (int d = 0; d < shape.length; d++) if (shape[d] > 1) return d;
            throw new IllegalStateException("expanded layout needs a dim of size > 1, got " + Arrays.toString(shape));
        }

        /** The view of {@code leaf} (of {@link #baseShape()}) that the op receives. */
        Tensor view(Tensor leaf) {
            return switch (layout) {
                case CONTIGUOUS -> leaf;
                case TRANSPOSED -> leaf.transpose(-1, -2);
                case STRIDED -> leaf.slice(-1, 1, 2 * shape[shape.length - 1] + 1, 2);
                case EXPANDED -> leaf.expand(shape);
            };
        }

        @Override
        public String toString() {
            if (fixed != null) return fixed.dtype() + Arrays.toString(fixed.shape()) + (fixed.isContiguous() ? "" : "nc");
            return Arrays.toString(shape) + layout.tag + (domain == Domain.ANY ? "" : "+");
        }
    }

    record Sample(List<Arg> args) {
        boolean hasNonContiguousArg() {
            return args.stream().anyMatch(a -> a.generated() ? a.layout != Layout.CONTIGUOUS : !a.fixed.isContiguous());
        }

        @Override
        public String toString() {
            return args.stream().map(Arg::toString).collect(Collectors.joining(", "));
        }
    }

    /** {@code call} on {@code inputs} must throw {@code exception} whose message contains the op's api name and every part. */
    record BadInput(Function<List<Tensor>, Tensor> call, List<Tensor> inputs, Class<? extends RuntimeException> exception,
                    List<String> messageParts) {
        @Override
        public String toString() {
            return inputs.stream().map(t -> t.dtype() + Arrays.toString(t.shape())).collect(Collectors.joining(", "));
        }
    }

    /**
     * A registered op.
     *
     * @param name    unique registry name (e.g. "sum_dim_keepdim")
     * @param api     the Tensor method name, which error messages must name (e.g. "sum")
     * @param fn      the op applied to its inputs
     * @param samples sample inputs
     * @param valid   extra constraint on the inputs the op sees (e.g. no ties for max); resampled until true
     * @param grad    whether the gradient check applies (false for comparisons, argmax, oneHot)
     */
    record OpInfo(String name, String api, Function<List<Tensor>, Tensor> fn, List<Sample> samples,
                  Predicate<List<Tensor>> valid, boolean grad, double eps, double atol, double rtol, List<BadInput> bad) {
        @Override
        public String toString() {
            return name;
        }

        /** Contiguous leaves for a sample's generated args (null for fixed ones), valid per {@link #valid}. */
        List<Tensor> leaves(Sample sample, long seed) {
            for (int attempt = 0; attempt < 200; attempt++) {
                Generator g = new Generator(seed * 1000 + attempt);
                List<Tensor> leaves = new ArrayList<>();
                for (Arg a : sample.args) leaves.add(a.generated() ? values(g, a.domain, a.baseShape()) : null);
                if (valid.test(inputs(sample, leaves))) return leaves;
            }
            throw new IllegalStateException(name + ": no valid inputs for sample " + sample + " in 200 attempts; check its domain");
        }

        /** What the op sees: the layouts' views of the leaves, and the fixed args. */
        static List<Tensor> inputs(Sample sample, List<Tensor> leaves) {
            List<Tensor> in = new ArrayList<>();
            for (int k = 0; k < sample.args.size(); k++) {
                Arg a = sample.args.get(k);
                in.add(a.generated() ? a.view(leaves.get(k)) : a.fixed);
            }
            return in;
        }
    }

    static Tensor values(Generator g, Domain d, int[] shape) {
        int n = Shapes.numel(shape);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            float u = g.nextFloat();
            v[i] = switch (d) {
                case ANY -> -2 + 4 * u;
                case POSITIVE -> 0.5f + 1.5f * u;
                case NONZERO -> (0.3f + 1.7f * u) * (g.nextFloat() < 0.5f ? -1 : 1);
                case TIES -> u < 1 / 3f ? -1f : u < 2 / 3f ? 0.5f : 2f;
            };
        }
        return Tensor.fromArray(v, shape);
    }

    // ------------------------------------------------------------------------------------------ DSL

    static Arg a(int... shape) {
        return new Arg(shape, Domain.ANY, Layout.CONTIGUOUS, null);
    }

    static Arg fixed(Tensor t) {
        return new Arg(t.shape(), null, null, t);
    }

    static Sample s(Arg... args) {
        return new Sample(List.of(args));
    }

    static Tensor zeros(int... shape) {
        return Tensor.zeros(shape);
    }

    static Tensor ids(int[] shape, long... values) {
        return Tensor.fromLongs(values, shape);
    }

    static Tensor mask(int[] shape, int... bits) {
        float[] v = new float[bits.length];
        for (int i = 0; i < bits.length; i++) v[i] = bits[i];
        return Tensor.fromArray(v, shape).ne(0);
    }

    static int[] sh(int... shape) {
        return shape;
    }

    /** A registration under construction. */
    static final class Op {
        final String name;
        String api;
        final Function<List<Tensor>, Tensor> fn;
        final List<Sample> samples = new ArrayList<>();
        Predicate<List<Tensor>> valid = in -> true;
        boolean grad = true;
        double eps = 1e-2, atol = 1e-4, rtol = 1e-3;
        final List<BadInput> bad = new ArrayList<>();

        Op(String name, Function<List<Tensor>, Tensor> fn) {
            this.name = name;
            int cut = name.indexOf('_');
            this.api = cut < 0 ? name : name.substring(0, cut);
            this.fn = fn;
        }

        Op api(String value) { api = value; return this; }
        Op samples(Sample... s) { samples.addAll(List.of(s)); return this; }
        Op samples(List<Sample> s) { samples.addAll(s); return this; }
        Op valid(Predicate<List<Tensor>> p) { valid = p; return this; }
        Op noGrad() { grad = false; return this; }
        Op tol(double eps, double atol, double rtol) { this.eps = eps; this.atol = atol; this.rtol = rtol; return this; }

        /** Inputs that the op rejects with an IllegalArgumentException naming the api and the given parts (shapes). */
        Op bad(List<Tensor> inputs, String... parts) {
            return bad(fn, inputs, IllegalArgumentException.class, parts);
        }

        /** Inputs that the op rejects with {@code exception}. */
        Op bad(List<Tensor> inputs, Class<? extends RuntimeException> exception, String... parts) {
            return bad(fn, inputs, exception, parts);
        }

        /** A variant call of the op (e.g. with a dim out of range) that rejects its inputs. */
        Op bad(Function<List<Tensor>, Tensor> call, List<Tensor> inputs, String... parts) {
            return bad(call, inputs, IllegalArgumentException.class, parts);
        }

        Op bad(Function<List<Tensor>, Tensor> call, List<Tensor> inputs, Class<? extends RuntimeException> exception, String... parts) {
            bad.add(new BadInput(call, inputs, exception, List.of(parts)));
            return this;
        }

        OpInfo build() {
            if (samples.isEmpty()) throw new IllegalStateException(name + " has no samples");
            return new OpInfo(name, api, fn, List.copyOf(samples), valid, grad, eps, atol, rtol, List.copyOf(bad));
        }
    }

    static Op op(String name, Function<List<Tensor>, Tensor> fn) {
        return new Op(name, fn);
    }

    static Op unary(String name, UnaryOperator<Tensor> f) {
        return op(name, in -> f.apply(in.get(0)));
    }

    static Op binary(String name, BiFunction<Tensor, Tensor, Tensor> f) {
        return op(name, in -> f.apply(in.get(0), in.get(1)));
    }

    // ------------------------------------------------------------------------------------------ sample families

    /** Shapes for elementwise unary ops: 0-dim, 1-D, 2-D, 3-D, size-1 and size-0 dims, every layout. */
    static List<Sample> unarySamples(UnaryOperator<Arg> domain) {
        List<Sample> out = new ArrayList<>();
        for (Arg a : List.of(a(), a(5), a(3, 4), a(2, 3, 4), a(1, 4), a(0, 3), a(3, 4).t(), a(3, 4).s(), a(3, 4).e(), a(2, 3, 4).t()))
            out.add(s(domain.apply(a)));
        return out;
    }

    /** Pairs for broadcasting binary ops: equal, trailing, both-sided, 0-dim, size-0, layouts, and random pairs. */
    static List<Sample> binarySamples(UnaryOperator<Arg> da, UnaryOperator<Arg> db) {
        List<Sample> out = new ArrayList<>();
        Arg[][] pairs = {
                {a(3, 4), a(3, 4)}, {a(3, 4), a(4)}, {a(3, 1), a(1, 4)}, {a(2, 3, 4), a(3, 1)}, {a(), a(3)}, {a(2, 3), a()},
                {a(0, 4), a(4)}, {a(3, 4).t(), a(3, 4).s()}, {a(3, 4).e(), a(4)}, {a(3, 4).s(), a(2, 3, 4).t()}, {a(4), a(2, 3, 4).e()},
        };
        for (Arg[] p : pairs) out.add(s(da.apply(p[0]), db.apply(p[1])));
        Generator g = new Generator(12345);
        for (int i = 0; i < 4; i++) {
            int[][] pair = randomBroadcastPair(g);
            out.add(s(da.apply(a(pair[0])), db.apply(a(pair[1]))));
        }
        return out;
    }

    /** Two random shapes of rank 0..3 with dims 1..4 that broadcast: some dims set to 1 on one side, leading dims dropped. */
    static int[][] randomBroadcastPair(Generator g) {
        int rank = 1 + g.nextInt(3);
        int[] full = new int[rank];
        for (int d = 0; d < rank; d++) full[d] = 1 + g.nextInt(4);
        int[] x = full.clone(), y = full.clone();
        for (int d = 0; d < rank; d++) {
            int r = g.nextInt(4);
            if (r == 0) x[d] = 1;
            else if (r == 1) y[d] = 1;
        }
        int dropX = g.nextInt(rank + 1) == 0 ? g.nextInt(rank + 1) : 0;
        return new int[][] {Arrays.copyOfRange(x, dropX, rank), y};
    }

    /** Shapes for reductions along dim 1 / -1: 2-D, 3-D, size-1, size-0 rows, layouts. */
    static List<Sample> reduceSamples(UnaryOperator<Arg> domain, boolean allowEmpty, boolean allowExpanded) {
        List<Sample> out = new ArrayList<>();
        List<Arg> args = new ArrayList<>(List.of(a(3, 4), a(2, 3, 4), a(1, 4), a(3, 1), a(3, 4).t(), a(3, 4).s(), a(2, 3, 4).t()));
        if (allowEmpty) args.add(a(0, 4));
        if (allowExpanded) args.add(a(3, 4).e());
        for (Arg a : args) out.add(s(domain.apply(a)));
        return out;
    }

    // ------------------------------------------------------------------------------------------ validity helpers

    /** Smallest gap between two distinct positions' values (infinite for fewer than 2 elements). */
    static double minGap(Tensor t) {
        float[] v = t.toFloatArray();
        Arrays.sort(v);
        double gap = Double.POSITIVE_INFINITY;
        for (int i = 1; i < v.length; i++) gap = Math.min(gap, v[i] - v[i - 1]);
        return gap;
    }

    /** Smallest |a - b| over the broadcast shape. */
    static double minAbsDiff(Tensor a, Tensor b) {
        float[] d = Pointwise.compute(dev.kindling.kernels.Elementwise.Binary.SUB, a, b).toFloatArray();
        double m = Double.POSITIVE_INFINITY;
        for (float x : d) m = Math.min(m, Math.abs(x));
        return m;
    }

    /** Smallest distance of any element to {@code point}. */
    static double distanceTo(Tensor t, double point) {
        double m = Double.POSITIVE_INFINITY;
        for (float x : t.toFloatArray()) m = Math.min(m, Math.abs(x - point));
        return m;
    }

    static final Predicate<List<Tensor>> DISTINCT = in -> minGap(in.get(0)) > 0.025;

    // ------------------------------------------------------------------------------------------ the registry

    static final List<OpInfo> OPS = register();

    static OpInfo get(String name) {
        return OPS.stream().filter(o -> o.name.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no op '" + name + "' in the registry"));
    }

    private static List<OpInfo> register() {
        List<Op> all = new ArrayList<>();
        UnaryOperator<Arg> any = x -> x, pos = Arg::pos, nonzero = Arg::nonzero;

        // ---- pointwise binary with broadcasting
        all.add(binary("add", Tensor::add).samples(binarySamples(any, any)).bad(List.of(zeros(3, 4), zeros(5, 4)), "[3, 4]", "[5, 4]"));
        all.add(binary("sub", Tensor::sub).samples(binarySamples(any, any)).bad(List.of(zeros(3, 4), zeros(3)), "[3, 4]", "[3]"));
        all.add(binary("mul", Tensor::mul).samples(binarySamples(any, any)).bad(List.of(zeros(2, 3), zeros(3, 2)), "[2, 3]", "[3, 2]"));
        all.add(binary("div", Tensor::div).samples(binarySamples(any, nonzero)).bad(List.of(zeros(4), zeros(3, 5)), "[4]", "[3, 5]"));
        all.add(binary("pow", Tensor::pow).samples(binarySamples(pos, any)).bad(List.of(zeros(2, 2), zeros(3)), "[2, 2]", "[3]"));
        Predicate<List<Tensor>> apart = in -> minAbsDiff(in.get(0), in.get(1)) > 0.0255;
        all.add(binary("maximum", Tensor::maximum).samples(binarySamples(any, any)).valid(apart)
                .bad(List.of(zeros(3, 4), zeros(2, 4)), "[3, 4]", "[2, 4]"));
        all.add(binary("minimum", Tensor::minimum).samples(binarySamples(any, any)).valid(apart)
                .bad(List.of(zeros(3, 4), zeros(2, 4)), "[3, 4]", "[2, 4]"));
        // at a tie the gradient is split evenly, which is exactly the central difference's mean of both slopes
        all.add(binary("maximum_ties", Tensor::maximum).api("maximum").samples(s(a(3, 4).ties(), a(3, 4).ties()), s(a(3, 4).ties(), a(4).ties())));
        all.add(binary("minimum_ties", Tensor::minimum).api("minimum").samples(s(a(3, 4).ties(), a(3, 4).ties()), s(a(3, 1).ties(), a(4).ties())));

        // ---- pointwise with a scalar
        all.add(unary("add_scalar", x -> x.add(1.5)).api("add").samples(unarySamples(any)));
        all.add(unary("sub_scalar", x -> x.sub(0.25)).api("sub").samples(unarySamples(any)));
        all.add(unary("mul_scalar", x -> x.mul(-2.5)).api("mul").samples(unarySamples(any)));
        all.add(unary("div_scalar", x -> x.div(0.7)).api("div").samples(unarySamples(any)));
        all.add(unary("pow_square", x -> x.pow(2)).api("pow").samples(unarySamples(any)));
        all.add(unary("pow_cube", x -> x.pow(3)).api("pow").samples(unarySamples(any)));
        all.add(unary("pow_sqrt", x -> x.pow(0.5)).api("pow").samples(unarySamples(pos)));
        all.add(unary("pow_negative", x -> x.pow(-1.5)).api("pow").samples(unarySamples(pos)));
        all.add(unary("pow_base", x -> Tensor.scalar(1.7f).pow(x)).api("pow").samples(unarySamples(any)));

        // ---- pointwise unary
        all.add(unary("neg", Tensor::neg).samples(unarySamples(any)));
        all.add(unary("exp", Tensor::exp).samples(unarySamples(any)));
        all.add(unary("log", Tensor::log).samples(unarySamples(pos)));
        all.add(unary("sqrt", Tensor::sqrt).samples(unarySamples(pos)));
        all.add(unary("rsqrt", Tensor::rsqrt).samples(unarySamples(pos)));
        all.add(unary("abs", Tensor::abs).samples(unarySamples(nonzero)));
        all.add(unary("tanh", Tensor::tanh).samples(unarySamples(any)));
        all.add(unary("sigmoid", Tensor::sigmoid).samples(unarySamples(any)));
        all.add(unary("relu", Tensor::relu).samples(unarySamples(nonzero)));
        all.add(unary("gelu", Tensor::gelu).samples(unarySamples(any)));
        all.add(unary("geluTanh", Tensor::geluTanh).samples(unarySamples(any)));
        all.add(unary("silu", Tensor::silu).samples(unarySamples(any)));
        all.add(unary("reciprocal", Tensor::reciprocal).samples(unarySamples(nonzero)));
        all.add(unary("sin", Tensor::sin).samples(unarySamples(any)));
        all.add(unary("cos", Tensor::cos).samples(unarySamples(any)));
        all.add(unary("clamp", x -> x.clamp(-0.5, 0.5)).samples(unarySamples(any))
                .valid(in -> distanceTo(in.get(0), -0.5) > 0.025 && distanceTo(in.get(0), 0.5) > 0.025));
        all.add(unary("clamp_min", x -> x.clamp(0.2, Double.NaN)).api("clamp").samples(unarySamples(any))
                .valid(in -> distanceTo(in.get(0), 0.2) > 0.025));
        all.add(unary("clamp_max", x -> x.clamp(Double.NaN, -0.1)).api("clamp").samples(unarySamples(any))
                .valid(in -> distanceTo(in.get(0), -0.1) > 0.025));
        all.add(unary("to_float64", x -> x.to(DType.FLOAT64)).api("to").samples(unarySamples(any)));
        // half precision: the conversion's rounding defeats a finite difference, so forward only
        all.add(unary("to_bf16", x -> x.to(DType.BF16)).api("to").noGrad().samples(unarySamples(any)));
        all.add(unary("to_f16", x -> x.to(DType.F16)).api("to").noGrad().samples(unarySamples(any)));
        all.add(binary("add_bf16", (x, y) -> x.to(DType.BF16).add(y.to(DType.F16))).api("add").noGrad().samples(binarySamples(any, any)));
        all.add(op("int64_views", in -> in.get(0).t().contiguous().reshape(-1)).api("reshape").noGrad()
                .samples(s(fixed(ids(sh(2, 3), 1L << 40, -5, 7, 0, (1L << 53) + 1, 2))), s(fixed(ids(sh(3, 2), 1, 2, 3, 4, 5, 6).t()))));
        all.add(op("tril_int64", in -> in.get(0).tril(0)).api("tril").noGrad()
                .samples(s(fixed(ids(sh(2, 3), 1L << 40, -5, 7, 0, (1L << 53) + 1, 2).t())), s(fixed(Tensor.fromInts(new int[] {1, 2, 3, 4}, 2, 2)))));
        all.add(unary("dropout", x -> x.dropout(0.3, true, new Generator(7))).samples(unarySamples(any))
                .bad(in -> in.get(0).dropout(1.5, true, new Generator(7)), List.of(zeros(2, 3)), "1.5")
                .bad(in -> in.get(0).dropout(0.5, true, null), List.of(zeros(2, 3)), "Generator"));
        all.add(unary("dropout_eval", x -> x.dropout(0.3, false, null)).api("dropout").samples(s(a(3, 4)), s(a(3, 4).t())));

        // ---- comparisons, where, maskedFill
        for (String cmp : List.of("eq", "ne", "lt", "le", "gt", "ge")) {
            BiFunction<Tensor, Tensor, Tensor> f = switch (cmp) {
                case "eq" -> Tensor::eq;
                case "ne" -> Tensor::ne;
                case "lt" -> Tensor::lt;
                case "le" -> Tensor::le;
                case "gt" -> Tensor::gt;
                default -> Tensor::ge;
            };
            all.add(binary(cmp, f).noGrad().samples(binarySamples(any, any))
                    .samples(s(a(3, 4).ties(), a(4).ties()), s(a(3, 4).ties().t(), fixed(Tensor.fromLongs(new long[] {2, -1, 0, 2}, 4))))
                    .bad(List.of(zeros(3, 4), zeros(2, 4)), "[3, 4]", "[2, 4]"));
        }
        all.add(unary("eq_scalar", x -> x.eq(0.5)).api("eq").noGrad().samples(s(a(3, 4).ties()), s(a(3, 4).ties().t())));
        all.add(unary("lt_scalar", x -> x.lt(0.25)).api("lt").noGrad().samples(s(a(3, 4)), s(a(3, 4).s()), s(a())));
        all.add(unary("ge_scalar", x -> x.ge(-0.25)).api("ge").noGrad().samples(s(a(3, 4).e()), s(a(0, 2))));
        Tensor m34 = mask(sh(3, 4), 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1);
        Tensor m31 = mask(sh(3, 1), 0, 1, 1);
        all.add(op("where", in -> Tensor.where(in.get(0), in.get(1), in.get(2)))
                .samples(s(fixed(m34), a(3, 4), a(3, 4)), s(fixed(m34), a(4), a(3, 1)), s(fixed(m31), a(3, 4).t(), a()),
                        s(fixed(m34.t()), a(4, 3).s(), a(4, 3).e()), s(fixed(mask(sh(0, 4))), a(0, 4), a(4)))
                .bad(List.of(m34, zeros(3, 4), zeros(2, 4)), "[3, 4]", "[2, 4]"));
        all.add(op("maskedFill", in -> in.get(0).maskedFill(in.get(1), -3))
                .samples(s(a(3, 4), fixed(m34)), s(a(3, 4), fixed(mask(sh(4), 1, 0, 0, 1))), s(a(4, 3).t(), fixed(m31.t().expand(4, 3))),
                        s(a(3, 4).s(), fixed(m34)), s(a(3, 4).e(), fixed(m31)))
                .bad(List.of(zeros(3, 4), mask(sh(3), 1, 0, 1)), "[3, 4]", "[3]")
                .bad(List.of(zeros(4), m34), "[4]", "[3, 4]"));

        // ---- reductions
        all.add(unary("sum", Tensor::sum).samples(unarySamples(any)));
        all.add(unary("sum_dim", x -> x.sum(-1)).api("sum").samples(reduceSamples(any, true, true))
                .bad(in -> in.get(0).sum(2), List.of(zeros(3, 4)), "dim 2"));
        all.add(unary("sum_dim0", x -> x.sum(0)).api("sum").samples(reduceSamples(any, true, true)));
        all.add(unary("sum_dims_keepdim", x -> x.sum(new int[] {0, 2}, true)).api("sum")
                .samples(s(a(2, 3, 4)), s(a(2, 3, 4).t()), s(a(2, 3, 4).e()), s(a(2, 0, 3)), s(a(1, 3, 1)))
                .bad(List.of(zeros(3, 4)), "dim 2"));
        all.add(unary("mean", Tensor::mean).samples(s(a()), s(a(5)), s(a(3, 4)), s(a(2, 3, 4)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e())));
        all.add(unary("mean_dim", x -> x.mean(1)).api("mean").samples(reduceSamples(any, true, true))
                .bad(List.of(zeros(4)), "dim 1"));
        all.add(unary("mean_dims_keepdim", x -> x.mean(new int[] {-1, 0}, true)).api("mean")
                .samples(s(a(2, 3, 4)), s(a(2, 3, 4).s()), s(a(3, 4).e()))
                .bad(in -> in.get(0).mean(new int[] {1, -1}, true), List.of(zeros(3, 4)), "appears twice"));
        all.add(unary("var", Tensor::var).samples(s(a(5)), s(a(3, 4)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e()))
                .bad(List.of(zeros(1)), "1 elements"));
        all.add(unary("var_dim", x -> x.var(1)).api("var").samples(reduceSamples(any, true, true).stream()
                .filter(s -> s.args().get(0).shape()[1] > 1).toList()).bad(List.of(zeros(3, 1)), "1 elements"));
        all.add(unary("var_population_keepdim", x -> x.var(new int[] {0}, 0, true)).api("var")
                .samples(s(a(3, 4)), s(a(1, 4)), s(a(3, 4).t()), s(a(2, 3, 4).s())));
        all.add(unary("std", Tensor::std).samples(s(a(5)), s(a(3, 4)), s(a(3, 4).t()), s(a(3, 4).s())));
        all.add(unary("std_dim", x -> x.std(-1)).api("std").samples(s(a(3, 4)), s(a(2, 3, 4).t()), s(a(3, 4).e()))
                .bad(in -> in.get(0).std(3), List.of(zeros(3, 4)), "dim 3"));
        all.add(unary("std_population", x -> x.std(new int[] {0, 1}, 0, false)).api("std").samples(s(a(3, 4)), s(a(2, 3, 4).s())));
        all.add(unary("max", Tensor::max).samples(s(a()), s(a(5)), s(a(3, 4)), s(a(3, 4).t()), s(a(2, 3, 4).s())).valid(DISTINCT)
                .bad(List.of(zeros(0, 3)), "empty"));
        all.add(unary("min", Tensor::min).samples(s(a()), s(a(5)), s(a(3, 4)), s(a(3, 4).t()), s(a(2, 3, 4).s())).valid(DISTINCT)
                .bad(List.of(zeros(0, 3)), "empty"));
        all.add(unary("max_dim", x -> x.max(1, false).values()).api("max").samples(reduceSamples(any, false, false)).valid(DISTINCT)
                .bad(List.of(zeros(3, 0)), "dim 1", "size 0"));
        all.add(unary("min_dim_keepdim", x -> x.min(0, true).values()).api("min").samples(reduceSamples(any, false, false))
                .valid(DISTINCT).bad(in -> in.get(0).min(1, true).values(), List.of(zeros(3)), "dim 1"));
        all.add(unary("argmax", x -> x.argmax(1, false)).noGrad().samples(reduceSamples(any, false, true))
                .samples(s(a(3, 4).ties()), s(a(3, 4).ties().t())));
        all.add(unary("argmin_keepdim", x -> x.argmin(0, true)).api("argmin").noGrad().samples(reduceSamples(any, false, true))
                .samples(s(a(3, 4).ties().s())));
        all.add(unary("argmax_all", x -> x.argmax()).api("argmax").noGrad().samples(s(a(3, 4)), s(a(3, 4).t()), s(a(3, 4).e())));
        all.add(unary("logsumexp", x -> x.logsumexp(-1, false)).samples(reduceSamples(any, true, true))
                .bad(in -> in.get(0).logsumexp(2, true), List.of(zeros(3, 4)), "dim 2"));
        all.add(unary("logsumexp_keepdim", x -> x.logsumexp(0, true)).api("logsumexp").samples(reduceSamples(any, true, true)));
        all.add(unary("softmax", x -> x.softmax(-1)).samples(reduceSamples(any, true, true)).samples(s(a()), s(a(5)))
                .bad(in -> in.get(0).softmax(2), List.of(zeros(3, 4)), "dim 2"));
        all.add(unary("softmax_dim0", x -> x.softmax(0)).api("softmax").samples(reduceSamples(any, true, true)));
        all.add(unary("logSoftmax", x -> x.logSoftmax(-1)).samples(reduceSamples(any, true, true)).samples(s(a()), s(a(5)))
                .bad(in -> in.get(0).logSoftmax(-3), List.of(zeros(3, 4)), "dim -3"));
        all.add(unary("logSoftmax_dim0", x -> x.logSoftmax(0)).api("logSoftmax").samples(reduceSamples(any, true, true)));

        // ---- linear algebra
        all.add(binary("matmul", Tensor::matmul).samples(
                        s(a(3, 4), a(4, 2)), s(a(4), a(4, 2)), s(a(3, 4), a(4)), s(a(4), a(4)), s(a(2, 3, 4), a(4, 5)),
                        s(a(2, 3, 4), a(2, 4, 5)), s(a(2, 1, 3, 4), a(3, 4, 2)), s(a(4), a(2, 4, 3)), s(a(2, 3, 4), a(4)),
                        s(a(3, 4).t(), a(4, 2).t()), s(a(3, 4).s(), a(4, 2)), s(a(3, 4), a(4, 2).s()), s(a(2, 3, 4).e(), a(4, 2)),
                        s(a(2, 3, 4), a(2, 4, 2).e()), s(a(2, 3, 4).t(), a(2, 4, 5).s()), s(a(1, 4), a(4, 1)),
                        s(a(0, 4), a(4, 2)), s(a(3, 0), a(0, 2)), s(a(3, 4), a(4, 0)))
                .bad(List.of(zeros(3, 4), zeros(5, 2)), "[3, 4]", "[5, 2]")
                .bad(List.of(zeros(2, 3, 4), zeros(3, 4, 5)), "[2, 3, 4]", "[3, 4, 5]")
                .bad(List.of(zeros(4), zeros(3)), "[4]", "[3]")
                .bad(List.of(zeros(), zeros(3)), "[]", "[3]"));
        all.add(op("linear", in -> in.get(0).linear(in.get(1), in.get(2))).samples(
                        s(a(3, 4), a(5, 4), a(5)), s(a(2, 3, 4), a(5, 4), a(5)), s(a(4), a(2, 4), a(2)),
                        s(a(3, 4).s(), a(5, 4).t(), a(5).s()), s(a(3, 4).e(), a(5, 4), a(5).e()), s(a(0, 4), a(5, 4), a(5)))
                .bad(List.of(zeros(3, 4), zeros(5, 3), zeros(5)), "[3, 4]", "[5, 3]")
                .bad(List.of(zeros(3, 4), zeros(5, 4), zeros(4)), "[4]")
                .bad(List.of(zeros(3, 4), zeros(4), zeros(4)), "[4]"));
        all.add(binary("linear_nobias", (x, w) -> x.linear(w, null)).api("linear")
                .samples(s(a(3, 4), a(5, 4)), s(a(2, 3, 4).t(), a(5, 4).s())));

        // ---- views and shape ops
        all.add(unary("reshape", x -> x.reshape(4, 3)).samples(s(a(3, 4)), s(a(3, 4).t()), s(a(2, 6).s()), s(a(12)), s(a(2, 2, 3).e()))
                .bad(List.of(zeros(5, 2)), "[4, 3]", "[5, 2]"));
        all.add(unary("reshape_infer", x -> x.reshape(-1, 2)).api("reshape").samples(s(a(3, 4)), s(a(4, 3).t()), s(a(0, 4)), s(a(2, 3, 2).s()))
                .bad(List.of(zeros(3, 3)), "[-1, 2]", "[3, 3]"));
        all.add(unary("reshape_scalar", x -> x.reshape(1, 1)).api("reshape").samples(s(a()), s(a(1)), s(a(1, 1, 1))));
        all.add(unary("view", x -> x.view(3, 2, 2)).samples(s(a(3, 4)), s(a(12)), s(a(3, 4).e()), s(a(3, 4).s()), s(a(3, 4).t()))
                .bad(in -> in.get(0).view(12), List.of(zeros(4, 3).t()), "[12]", "[3, 4]"));
        all.add(unary("view_scalar", x -> x.view(1)).api("view").samples(s(a()), s(a(1, 1))));
        all.add(unary("transpose", x -> x.transpose(0, 1)).samples(s(a(3, 4)), s(a(2, 3, 4)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e()))
                .bad(List.of(zeros(3)), "dim 1"));
        all.add(unary("transpose_3d", x -> x.transpose(0, -1)).api("transpose").samples(s(a(2, 3, 4)), s(a(2, 3, 4).s())));
        all.add(unary("t", Tensor::t).samples(s(a(3, 4)), s(a(3, 4).s())).bad(List.of(zeros(2, 3, 4)), "[2, 3, 4]"));
        all.add(unary("permute", x -> x.permute(2, 0, 1)).samples(s(a(2, 3, 4)), s(a(2, 3, 4).t()), s(a(2, 3, 4).e()), s(a(2, 0, 4)))
                .bad(List.of(zeros(3, 4)), "[2, 0, 1]", "[3, 4]"));
        all.add(unary("contiguous", Tensor::contiguous).samples(s(a(3, 4)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e())));
        all.add(unary("squeeze", Tensor::squeeze).samples(s(a(1, 3, 1, 4)), s(a(1)), s(a(3, 4).t()), s(a(1, 4, 1).s())));
        all.add(unary("squeeze_dim", x -> x.squeeze(0)).api("squeeze").samples(s(a(1, 3)), s(a(3, 4)), s(a(1, 4).t()))
                .bad(in -> in.get(0).squeeze(3), List.of(zeros(1, 3)), "dim 3"));
        all.add(unary("unsqueeze", x -> x.unsqueeze(1)).samples(s(a(3, 4)), s(a(3)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e()))
                .bad(in -> in.get(0).unsqueeze(3), List.of(zeros(3, 4)), "dim 3"));
        all.add(unary("unsqueeze_last", x -> x.unsqueeze(-1)).api("unsqueeze").samples(s(a()), s(a(3, 4).t())));
        all.add(unary("expand", x -> x.expand(2, 3, 4)).samples(s(a(3, 1)), s(a(1, 4)), s(a(4)), s(a()), s(a(3, 4).s()))
                .bad(List.of(zeros(3, 2)), "[3, 2]", "[2, 3, 4]"));
        all.add(unary("expand_keep", x -> x.expand(-1, 5)).api("expand").samples(s(a(3, 1)), s(a(3, 1).s()))
                .bad(List.of(zeros(3, 2)), "[3, 2]", "[-1, 5]")
                .bad(in -> in.get(0).expand(-2, 4), List.of(zeros(1, 4)), "[-2, 4]"));
        all.add(unary("narrow", x -> x.narrow(1, 1, 2)).samples(s(a(3, 4)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e()))
                .bad(List.of(zeros(3, 2)), IndexOutOfBoundsException.class, "size 2"));
        all.add(unary("slice_step", x -> x.slice(1, 0, 5, 2)).api("slice").samples(s(a(3, 5)), s(a(3, 5).t()), s(a(3, 5).s()), s(a(3, 5).e()))
                .bad(List.of(zeros(3, 4)), IndexOutOfBoundsException.class, "size 4")
                .bad(in -> in.get(0).slice(1, 0, 4, 0), List.of(zeros(3, 4)), "step"));
        all.add(unary("slice_negative", x -> x.slice(-1, -3, -1, 1)).api("slice").samples(s(a(3, 5)), s(a(2, 3, 4).t())));
        all.add(unary("slice_empty", x -> x.slice(1, 2, 2, 1)).api("slice").samples(s(a(3, 5)), s(a(3, 5).t())));
        all.add(unary("select", x -> x.select(0, 1)).samples(s(a(3, 4)), s(a(3)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e()))
                .bad(List.of(zeros(1, 4)), IndexOutOfBoundsException.class, "size 1")
                .bad(List.of(zeros()), "0-dim", "[]"));
        all.add(unary("select_last", x -> x.select(-1, -1)).api("select").samples(s(a(3, 4)), s(a(2, 3, 4).t())));
        all.add(unary("flatten", Tensor::flatten).samples(s(a()), s(a(3, 4)), s(a(2, 3, 4).t()), s(a(3, 4).e())));
        all.add(unary("flatten_range", x -> x.flatten(1, 2)).api("flatten").samples(s(a(2, 3, 4)), s(a(2, 3, 4).s()), s(a(2, 3, 4).t()))
                .bad(in -> in.get(0).flatten(2, 1), List.of(zeros(2, 3, 4)), "start dim 2"));
        all.add(binary("cat", (x, y) -> Tensor.cat(List.of(x, y), 0)).samples(s(a(2, 3), a(4, 3)), s(a(2, 3).t(), a(1, 3).s()),
                        s(a(0, 3), a(2, 3)), s(a(3), a(2)), s(a(2, 3).e(), a(2, 3)))
                .bad(List.of(zeros(2, 3), zeros(2, 4)), "[2, 3]", "[2, 4]")
                .bad(List.of(zeros(2, 3), zeros(3)), "[2, 3]", "[3]"));
        all.add(op("cat_dim1", in -> Tensor.cat(in, 1)).api("cat").samples(s(a(2, 3), a(2, 1), a(2, 2)), s(a(2, 3).t(), a(2, 0), a(2, 2).e())));
        all.add(binary("stack", (x, y) -> Tensor.stack(List.of(x, y), 0)).samples(s(a(2, 3), a(2, 3)), s(a(2, 3).t(), a(2, 3).s()), s(a(), a()))
                .bad(List.of(zeros(2, 3), zeros(3, 2)), "[2, 3]", "[3, 2]"));
        all.add(binary("stack_last", (x, y) -> Tensor.stack(List.of(x, y), -1)).api("stack").samples(s(a(2, 3), a(2, 3)), s(a(2, 3).t(), a(2, 3).e())));
        all.add(unary("split", x -> Tensor.cat(x.split(2, 1).reversed(), 1)).samples(s(a(3, 5)), s(a(3, 5).t()), s(a(3, 4).s()))
                .bad(in -> Tensor.cat(in.get(0).split(0, 1), 1), List.of(zeros(3, 4)), "split size"));
        all.add(unary("chunk", x -> Tensor.cat(x.chunk(3, 0).reversed(), 0)).samples(s(a(5, 2)), s(a(6, 2).t()), s(a(4, 3).e()))
                .bad(in -> Tensor.cat(in.get(0).chunk(0, 0), 0), List.of(zeros(3, 4)), "chunks"));
        all.add(unary("tril", x -> x.tril(0)).samples(s(a(3, 4)), s(a(2, 3, 3)), s(a(3, 4).t()), s(a(3, 4).s()), s(a(3, 4).e()))
                .bad(List.of(zeros(4)), "[4]"));
        all.add(unary("tril_below", x -> x.tril(-1)).api("tril").samples(s(a(4, 3)), s(a(3, 4).t())));
        all.add(unary("triu", x -> x.triu(1)).samples(s(a(3, 4)), s(a(2, 3, 3)), s(a(3, 4).t()), s(a(3, 4).s()))
                .bad(List.of(zeros()), "[]"));

        // ---- indexing
        Tensor idx3 = ids(sh(3), 2, 0, 2);
        all.add(op("indexSelect", in -> in.get(0).indexSelect(0, in.get(1)))
                .samples(s(a(4, 3), fixed(idx3)), s(a(3, 4).t(), fixed(idx3)), s(a(3, 5).s(), fixed(ids(sh(2), 1, 1))),
                        s(a(4, 3).e(), fixed(idx3)), s(a(4), fixed(ids(sh(), 3))), s(a(4, 3), fixed(ids(sh(0)))))
                .bad(List.of(zeros(4, 3), ids(sh(2, 2), 0, 1, 2, 3)), "[2, 2]")
                .bad(List.of(zeros(4, 3), ids(sh(1), 4)), IndexOutOfBoundsException.class, "index 4", "size 4")
                .bad(List.of(zeros(4, 3), zeros(2)), "FLOAT32"));
        all.add(op("indexSelect_dim1", in -> in.get(0).indexSelect(1, in.get(1))).api("indexSelect")
                .samples(s(a(2, 4, 3), fixed(ids(sh(2), 3, -1))), s(a(3, 4).t(), fixed(idx3))));
        Tensor gidx = ids(sh(3, 2), 0, 3, 1, 1, 2, 0);
        all.add(op("gather", in -> in.get(0).gather(1, in.get(1)))
                .samples(s(a(3, 4), fixed(gidx)), s(a(3, 4).t(), fixed(gidx)), s(a(3, 4).s(), fixed(gidx)), s(a(3, 4).e(), fixed(gidx)),
                        s(a(3, 4), fixed(ids(sh(2, 3), 0, 1, 1, 2, 3, 0).t())), s(a(3, 4), fixed(ids(sh(3, 0)))))
                .bad(List.of(zeros(3, 4), ids(sh(2), 0, 1)), "[2]", "[3, 4]")
                .bad(List.of(zeros(3, 4), ids(sh(4, 1), 0, 0, 0, 0)), "[4, 1]", "[3, 4]"));
        all.add(op("gather_dim0", in -> in.get(0).gather(0, in.get(1))).api("gather")
                .samples(s(a(3, 4), fixed(ids(sh(2, 4), 0, 1, 2, 0, 2, 2, 1, 0))), s(a(2, 3, 4).t(), fixed(ids(sh(1, 3, 1), 1, 0, 1)))));
        all.add(op("scatterAdd", in -> in.get(0).scatterAdd(1, in.get(1), in.get(2)))
                .samples(s(a(3, 4), fixed(gidx), a(3, 2)), s(a(3, 4).t(), fixed(gidx), a(3, 2).t()), s(a(3, 4).s(), fixed(gidx), a(3, 2).e()),
                        s(a(3, 4), fixed(ids(sh(3, 1), 1, 1, 3)), a(3, 2)), s(a(3, 4), fixed(ids(sh(3, 2), 1, 1, 0, 0, 3, 3)), a(3, 3)))
                .bad(List.of(zeros(3, 4), gidx, zeros(6)), "[3, 2]", "[6]")
                .bad(List.of(zeros(3, 4), gidx, zeros(2, 2)), "[3, 2]", "[2, 2]"));
        all.add(op("indexAdd", in -> in.get(0).indexAdd(0, in.get(1), in.get(2)))
                .samples(s(a(5, 3), fixed(idx3), a(3, 3)), s(a(5, 3).t(), fixed(idx3), a(3, 3).s()), s(a(5, 3).e(), fixed(idx3), a(3, 3).t()),
                        s(a(5, 3), fixed(ids(sh(0))), a(0, 3)))
                .bad(List.of(zeros(5, 3), idx3, zeros(3, 4)), "[3, 4]", "[3, 3]"));
        all.add(op("embedding", in -> Tensor.embedding(in.get(0), in.get(1)))
                .samples(s(a(5, 3), fixed(ids(sh(2, 3), 0, 4, 4, 1, 2, 0))), s(a(3, 5).t(), fixed(ids(sh(4), 1, 1, 1, 0))),
                        s(a(5, 3).s(), fixed(ids(sh(), 2))), s(a(5, 3), fixed(Tensor.fromInts(new int[] {3, 1}, 2))))
                .bad(List.of(zeros(5), ids(sh(2), 0, 1)), "[5]")
                .bad(List.of(zeros(5, 3), zeros(2)), "FLOAT32"));
        all.add(op("oneHot", in -> in.get(0).oneHot(4)).noGrad()
                .samples(s(fixed(ids(sh(3), 0, 3, 1))), s(fixed(ids(sh(2, 3), 0, 1, 2, 3, 2, 1).t())), s(fixed(ids(sh(0)))))
                .bad(List.of(ids(sh(2), 1, 4)), IndexOutOfBoundsException.class, "class 4"));

        Map<String, OpInfo> ops = new LinkedHashMap<>();
        for (Op o : all) {
            OpInfo info = o.build();
            if (ops.put(info.name(), info) != null) throw new IllegalStateException("op '" + info.name() + "' registered twice");
        }
        return List.copyOf(ops.values());
    }
}
