package dev.kindling.tensor;

import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Elementwise.Binary;
import dev.kindling.kernels.Elementwise.Unary;

/** Elementwise ops with broadcasting, and their gradients. */
final class Pointwise {
    private Pointwise() {}

    /** The Tensor method's name, for errors and grad_fn (MAX is maximum: max is the reduction). */
    static String name(Binary op) {
        return switch (op) {
            case MAX -> "maximum";
            case MIN -> "minimum";
            default -> op.name().toLowerCase();
        };
    }

    /** out = a op b with broadcasting, FLOAT32, no graph. */
    static Tensor compute(Binary op, Tensor a, Tensor b) {
        a = a.toFloat();
        b = b.toFloat();
        int[] shape = Shapes.broadcast(name(op), a.shape, b.shape);
        Tensor out = Tensor.uninitialized(shape); // the loop writes every element
        Loop loop = Loop.of(shape, out.strides, Shapes.broadcastStrides(a.shape, a.strides, shape),
                Shapes.broadcastStrides(b.shape, b.strides, shape));
        float[] A = a.f(), B = b.f(), O = out.f();
        int sa = loop.innerStrides[1], sb = loop.innerStrides[2], so = loop.innerStrides[0];
        if (so > 1) throw new AssertionError("output inner stride " + so);
        loop.run(new int[] {0, a.offset, b.offset}, op == Binary.POW ? 8 : 1,
                (offs, n) -> Elementwise.binary(op, A, offs[1], sa, B, offs[2], sb, O, offs[0], n));
        return out;
    }

    static Tensor binary(Binary op, Tensor a, Tensor b) {
        Tensor out = compute(op, a, b);
        if (!(a.requiresGrad || b.requiresGrad)) return out;
        int[] as = a.shape, bs = b.shape;
        Node.Backward bw = switch (op) {
            case ADD -> g -> new Tensor[] {Reduce.sumTo(g, as), Reduce.sumTo(g, bs)};
            case SUB -> g -> new Tensor[] {Reduce.sumTo(g, as), b.requiresGrad ? Reduce.sumTo(g.neg(), bs) : null};
            case MUL -> g -> new Tensor[] {a.requiresGrad ? Reduce.sumTo(g.mul(b), as) : null,
                    b.requiresGrad ? Reduce.sumTo(g.mul(a), bs) : null};
            case DIV -> g -> new Tensor[] {a.requiresGrad ? Reduce.sumTo(g.div(b), as) : null,
                    b.requiresGrad ? Reduce.sumTo(g.mul(out).div(b).neg(), bs) : null};
            case POW -> g -> new Tensor[] {
                    a.requiresGrad ? Reduce.sumTo(g.mul(b).mul(a.pow(b.sub(1))), as) : null,
                    b.requiresGrad ? Reduce.sumTo(g.mul(out).mul(a.log()), bs) : null};
            case MAX, MIN -> g -> {
                // PyTorch: the winner takes the gradient, ties share it equally
                Tensor win = compute(op == Binary.MAX ? Binary.GT : Binary.LT, a, b);
                Tensor tie = compute(Binary.EQ, a, b).mul(0.5);
                Tensor wa = win.add(tie);
                return new Tensor[] {a.requiresGrad ? Reduce.sumTo(g.mul(wa), as) : null,
                        b.requiresGrad ? Reduce.sumTo(g.mul(wa.neg().add(1)), bs) : null};
            };
            default -> throw new IllegalArgumentException(op + " is not differentiable");
        };
        return Tensor.record(out, name(op), bw, a, b);
    }

    static Tensor computeUnary(Unary op, Tensor a) {
        a = a.toFloat();
        Tensor out = Tensor.uninitialized(a.shape); // the loop writes every element
        Loop loop = Loop.of(a.shape, out.strides, a.strides);
        float[] A = a.f(), O = out.f();
        int sa = loop.innerStrides[1];
        long cost = switch (op) { case NEG, ABS, RELU -> 1; default -> 8; };
        loop.run(new int[] {0, a.offset}, cost, (offs, n) -> Elementwise.unary(op, A, offs[1], sa, O, offs[0], n));
        return out;
    }

    static Tensor unary(Unary op, Tensor a) {
        Tensor out = computeUnary(op, a);
        if (!a.requiresGrad) return out;
        Node.Backward bw = switch (op) {
            case NEG -> g -> new Tensor[] {g.neg()};
            case EXP -> g -> new Tensor[] {g.mul(out)};
            case LOG -> g -> new Tensor[] {g.div(a)};
            case SQRT -> g -> new Tensor[] {g.div(out.mul(2))};
            case RSQRT -> g -> new Tensor[] {g.mul(out.mul(out).mul(out)).mul(-0.5)};
            case ABS -> g -> new Tensor[] {g.mul(sign(a))};
            case TANH -> g -> new Tensor[] {g.mul(out.mul(out).neg().add(1))};
            case SIGMOID -> g -> new Tensor[] {g.mul(out.mul(out.neg().add(1)))};
            case RELU, GELU, GELU_TANH, SILU -> g -> new Tensor[] {activationGrad(op, a, g.expand(a.shape))};
            case RECIPROCAL -> g -> new Tensor[] {g.mul(out.mul(out)).neg()};
            case SIN -> g -> new Tensor[] {g.mul(a.cos())};
            case COS -> g -> new Tensor[] {g.mul(a.sin()).neg()};
        };
        return Tensor.record(out, op.name().toLowerCase(), bw, a);
    }

    private static Tensor sign(Tensor a) {
        return compute(Binary.GT, a, Tensor.scalar(0)).sub(compute(Binary.LT, a, Tensor.scalar(0)));
    }

    /** g * f'(x) for the smooth activations, in one kernel pass over contiguous copies. */
    private static Tensor activationGrad(Unary op, Tensor a, Tensor g) {
        Tensor x = a.toFloat().contiguous(), gc = g.toFloat().contiguous();
        float[] out = FloatPool.uninitialized(x.numel()); // the kernel writes every element
        float[] xa = x.f(), ga = gc.f();
        int xo = x.offset, go = gc.offset;
        Parallel.forRange(out.length, 30, (from, to) ->
                Elementwise.activationBackward(op, xa, xo + from, ga, go + from, out, from, to - from));
        return Tensor.wrap(out, a.shape.clone());
    }

    static Tensor clamp(Tensor a, float min, float max) {
        Tensor x = a.toFloat();
        Tensor out = x.contiguousCopy();
        float[] d = out.f();
        for (int i = 0; i < d.length; i++) {
            float v = d[i];
            if (!Float.isNaN(min) && v < min) v = min;
            if (!Float.isNaN(max) && v > max) v = max;
            d[i] = v;
        }
        return Tensor.record(out, "clamp", g -> {
            Tensor keep = Tensor.ones(x.shape);
            if (!Float.isNaN(min)) keep = keep.mul(compute(Binary.GE, x, Tensor.scalar(min)));
            if (!Float.isNaN(max)) keep = keep.mul(compute(Binary.LE, x, Tensor.scalar(max)));
            return new Tensor[] {g.mul(keep)};
        }, a);
    }

    static Tensor compare(Binary op, Tensor a, Tensor b) {
        return compute(op, a, b).to(DType.BOOL);
    }

    static Tensor where(Tensor mask, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", mask.shape, a.shape), b.shape);
        Tensor m = mask.to(DType.FLOAT32);
        Tensor af = a.toFloat(), bf = b.toFloat();
        Tensor out = Tensor.zeros(shape);
        float[] o = out.f(), M = m.f(), A = af.f(), B = bf.f();
        Loop loop = Loop.of(shape, out.strides, Shapes.broadcastStrides(m.shape, m.strides, shape),
                Shapes.broadcastStrides(af.shape, af.strides, shape), Shapes.broadcastStrides(bf.shape, bf.strides, shape));
        int sm = loop.innerStrides[1], sa = loop.innerStrides[2], sb = loop.innerStrides[3];
        loop.run(new int[] {0, m.offset, af.offset, bf.offset}, 1, (offs, n) -> {
            for (int i = 0; i < n; i++)
                o[offs[0] + i] = M[offs[1] + i * sm] != 0 ? A[offs[2] + i * sa] : B[offs[3] + i * sb];
        });
        int[] as = a.shape, bs = b.shape;
        return Tensor.record(out, "where", g -> {
            Tensor zero = Tensor.scalar(0);
            return new Tensor[] {null,
                    a.requiresGrad ? Reduce.sumTo(where(m, g, zero), as) : null,
                    b.requiresGrad ? Reduce.sumTo(where(m, zero, g), bs) : null};
        }, mask, a, b);
    }

    static Tensor maskedFill(Tensor a, Tensor mask, float value) {
        Shapes.broadcast("maskedFill", a.shape, mask.shape);
        if (Shapes.broadcast("maskedFill", a.shape, mask.shape).length != a.shape.length
                || !java.util.Arrays.equals(Shapes.broadcast("maskedFill", a.shape, mask.shape), a.shape))
            throw new IllegalArgumentException("maskedFill: mask shape " + Shapes.str(mask.shape)
                    + " must broadcast to the tensor shape " + Shapes.str(a.shape));
        return where(mask, Tensor.scalar(value), a);
    }

    static Tensor dropout(Tensor a, double p, boolean training, Generator gen) {
        if (p < 0 || p > 1 || Double.isNaN(p)) throw new IllegalArgumentException("dropout: probability must be in [0, 1], got " + p);
        if (!training || p == 0) return a;
        if (gen == null) throw new IllegalArgumentException("dropout: needs a Generator when training with p > 0");
        int n = a.numel();
        float[] mask = new float[n];
        float scale = p == 1 ? 0f : (float) (1 / (1 - p));
        for (int i = 0; i < n; i++) mask[i] = gen.nextFloat() >= p ? scale : 0f;
        Tensor m = Tensor.wrap(mask, a.shape.clone());
        return a.mul(m);
    }

    /** acc + g, reusing acc's storage when it owns it (gradient accumulation). */
    static Tensor accumulate(Tensor acc, Tensor g) {
        Tensor gf = g.toFloat();
        if (acc.dtype == DType.FLOAT32 && acc.offset == 0 && acc.isContiguous() && acc.f().length == acc.numel()) {
            float[] A = acc.f(), G = gf.f();
            Loop loop = Loop.of(acc.shape, acc.strides, gf.strides);
            int sg = loop.innerStrides[1];
            loop.run(new int[] {0, gf.offset}, 1, (offs, n) -> Elementwise.addInto(G, offs[1], sg, A, offs[0], n));
            return acc;
        }
        return compute(Binary.ADD, acc, gf);
    }
}
