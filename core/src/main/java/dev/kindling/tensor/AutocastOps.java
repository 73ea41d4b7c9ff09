package dev.kindling.tensor;

import dev.kindling.autograd.Grad;
import dev.kindling.kernels.HalfArrays;

/**
 * matmul and linear under {@link Autocast}: 16-bit inputs, FLOAT32 accumulation, a 16-bit output. The product of
 * two 16-bit values is exact in float, so widening the operands and running the FLOAT32 GEMM gives what a
 * half-precision GEMM with FLOAT32 accumulators gives (PyTorch's CPU bf16 matmul). Backward keeps the 16-bit
 * operands, not widened copies, so the activations a step holds for backward take half the memory, and
 * rounds the incoming gradient and the results to 16 bits as PyTorch's half-precision backward does.
 */
final class AutocastOps {
    private AutocastOps() {}

    static Tensor matmul(Tensor a, Tensor b, DType half) {
        return product("matmul", Autocast.cast(a), Autocast.cast(b), null, half);
    }

    /** x W^T + b, with the weight cast once per scope and the bias added before rounding (as addmm does). */
    static Tensor linear(Tensor x, Tensor weight, Tensor bias, DType half) {
        return product("linear", Autocast.cast(x), Autocast.cast(weight).t(), Autocast.cast(bias), half);
    }

    private static Tensor product(String op, Tensor a, Tensor b, Tensor bias, DType half) {
        if (a.dim() < 2 || b.dim() < 2) { // vector operands are rare and small: compose differentiable casts
            try (var off = Autocast.disabled()) {
                Tensor y = a.to(DType.FLOAT32).matmul(b.to(DType.FLOAT32));
                return (bias == null ? y : y.add(bias.to(DType.FLOAT32))).to(half);
            }
        }
        Tensor out;
        try (var off = Autocast.disabled(); var noGrad = Grad.disabled()) {
            Tensor y = widen(a).matmul(widen(b));
            out = (bias == null ? y : y.add(widen(bias))).to(half);
        }
        return Tensor.record(out, op, g -> {
            Tensor gf = rounded(g, half); // the gradient of a 16-bit tensor is 16-bit, as in PyTorch
            Tensor ga = a.requiresGrad ? Reduce.sumTo(gf.matmul(widen(b).transpose(-1, -2)), a.shape).to(half) : null;
            Tensor gb = b.requiresGrad ? Reduce.sumTo(widen(a).transpose(-1, -2).matmul(gf), b.shape).to(half) : null;
            Tensor gbias = bias != null && bias.requiresGrad ? Reduce.sumTo(gf, bias.shape).to(half) : null;
            return new Tensor[] {ga, gb, gbias};
        }, a, b, bias);
    }

    /**
     * The values of t as FLOAT32 without a graph. A view that spans its whole 16-bit storage (a transposed
     * weight) is widened storage and all and keeps its strides, so the GEMM reads it transposed without a copy.
     */
    static Tensor widen(Tensor t) {
        if (t.dtype == DType.FLOAT32) return t.detach();
        if (t.data instanceof short[] s && t.offset == 0 && s.length == t.numel()) {
            float[] f = new float[s.length];
            HalfArrays.widen(t.dtype == DType.BF16, s, 0, f, 0, s.length);
            return new Tensor(DType.FLOAT32, f, t.shape, t.strides, 0);
        }
        return Storage.convert(t, DType.FLOAT32);
    }

    /** A FLOAT32 copy of g holding the values of g rounded to {@code half}. */
    private static Tensor rounded(Tensor g, DType half) {
        if (g.dtype == half) return widen(g);
        Tensor f = g.contiguousCopy();
        float[] d = f.f();
        HalfArrays.round(half == DType.BF16, d, 0, d, 0, d.length);
        return f;
    }
}
