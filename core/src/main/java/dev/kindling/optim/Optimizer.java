package dev.kindling.optim;

import dev.kindling.autograd.Grad;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of optimizers: parameter groups, per-parameter state buffers, zeroGrad and state dicts. A subclass
 * implements {@link #update} for one parameter; {@link #step()} runs it with grad recording off.
 */
public abstract class Optimizer {
    protected final List<ParamGroup> groups = new ArrayList<>();
    /** Per-parameter named state buffers (e.g. exp_avg), created lazily. */
    private final Map<Tensor, Map<String, float[]>> state = new IdentityHashMap<>();
    protected long stepCount;

    protected Optimizer(List<ParamGroup> groups) {
        if (groups.isEmpty()) throw new IllegalArgumentException("optimizer: no parameter groups");
        IdentityHashMap<Tensor, Boolean> seen = new IdentityHashMap<>();
        for (ParamGroup g : groups)
            for (Tensor p : g.params)
                if (seen.put(p, true) != null) throw new IllegalArgumentException("optimizer: a parameter appears in more than one group");
        this.groups.addAll(groups);
    }

    public List<ParamGroup> paramGroups() {
        return groups;
    }

    /** Sets every group's lr (schedules call this each step). */
    public void setLr(double lr) {
        for (ParamGroup g : groups) g.lr = lr;
    }

    /** Number of steps taken. */
    public long stepCount() {
        return stepCount;
    }

    public void zeroGrad() {
        for (ParamGroup g : groups) for (Tensor p : g.params) p.zeroGrad();
    }

    /** Applies one update to every parameter that has a gradient. */
    public void step() {
        stepCount++;
        try (var noGrad = Grad.disabled()) {
            for (ParamGroup g : groups)
                for (Tensor p : g.params) {
                    Tensor grad = p.grad();
                    if (grad == null) continue;
                    update(g, p.floatData(), values(grad), state(p));
                }
        }
    }

    /**
     * A gradient's values to read: its own array when it owns one, else a copy (a gradient set with setGrad
     * may be a view into a bigger tensor, which floatData refuses).
     */
    static float[] values(Tensor grad) {
        return ownsArray(grad) ? grad.floatData() : grad.toFloatArray();
    }

    static boolean ownsArray(Tensor t) {
        return t.dtype() == dev.kindling.tensor.DType.FLOAT32 && t.isContiguous() && t.storageOffset() == 0
                && ((float[]) t.storageArray()).length == t.numel();
    }

    /** Updates one parameter's values in place from its gradient. */
    protected abstract void update(ParamGroup group, float[] param, float[] grad, Map<String, float[]> state);

    Map<String, float[]> state(Tensor p) {
        return state.computeIfAbsent(p, k -> new LinkedHashMap<>());
    }

    /** A state buffer of {@code n} zeros, created on first use. */
    protected static float[] buffer(Map<String, float[]> state, String name, int n) {
        return state.computeIfAbsent(name, k -> new float[n]);
    }

    /**
     * The optimizer state by "group.param.buffer" keys ({@code 0.3.exp_avg}) plus "step", as tensors, ready
     * for a checkpoint. Learning rates are not saved: the schedule (or the constructor) sets them.
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("step", Tensor.fromLongs(new long[] {stepCount}, 1));
        for (int gi = 0; gi < groups.size(); gi++) {
            ParamGroup g = groups.get(gi);
            for (int pi = 0; pi < g.params.size(); pi++) {
                Map<String, float[]> s = state.get(g.params.get(pi));
                if (s == null) continue;
                for (var e : s.entrySet()) out.put(gi + "." + pi + "." + e.getKey(), Tensor.fromArray(e.getValue(), e.getValue().length));
            }
        }
        return out;
    }

    /** Restores what {@link #stateDict()} saved; the parameter layout must match. */
    public void loadStateDict(Map<String, Tensor> sd) {
        Tensor step = sd.get("step");
        if (step == null) throw new IllegalArgumentException("optimizer state dict has no 'step'");
        Map<Tensor, Map<String, float[]>> fresh = new IdentityHashMap<>();
        for (var e : sd.entrySet()) {
            String k = e.getKey();
            if (k.equals("step")) continue;
            String[] parts = k.split("\\.", 3);
            int gi = parse(parts[0], k);
            if (gi >= groups.size()) throw new IllegalArgumentException("optimizer state dict: group " + gi + " does not exist (key '" + k + "')");
            ParamGroup g = groups.get(gi);
            if (parts.length != 3) throw new IllegalArgumentException("optimizer state dict: malformed key '" + k + "'");
            int pi = parse(parts[1], k);
            if (pi >= g.params.size()) throw new IllegalArgumentException("optimizer state dict: parameter " + pi + " does not exist in group " + gi);
            Tensor p = g.params.get(pi);
            float[] v = e.getValue().toFloatArray();
            if (v.length != p.numel())
                throw new IllegalArgumentException("optimizer state dict: '" + k + "' has " + v.length + " values for a parameter of " + p.numel());
            fresh.computeIfAbsent(p, x -> new LinkedHashMap<>()).put(parts[2], v);
        }
        state.clear();
        state.putAll(fresh);
        stepCount = step.getLong(0);
    }

    private static int parse(String s, String key) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("optimizer state dict: malformed key '" + key + "'");
        }
    }

    /** One group with every parameter. */
    protected static List<ParamGroup> single(List<Tensor> params, double lr, double weightDecay) {
        return List.of(new ParamGroup(params, lr, weightDecay));
    }
}
