package dev.kindling.nn;

import dev.kindling.tensor.Tensor;

/** GELU; {@code approximate = "tanh"} selects the tanh form (GPT-2), "none" the exact erf form. */
public final class GELU extends Module {
    private final boolean tanh;
    public GELU() { this("none"); }
    public GELU(String approximate) {
        if (!approximate.equals("none") && !approximate.equals("tanh"))
            throw new IllegalArgumentException("GELU: approximate must be 'none' or 'tanh', got '" + approximate + "'");
        tanh = approximate.equals("tanh");
    }
    @Override public Tensor forward(Tensor x) { return tanh ? x.geluTanh() : x.gelu(); }
    @Override protected String extraRepr() { return "approximate='" + (tanh ? "tanh" : "none") + "'"; }
}
