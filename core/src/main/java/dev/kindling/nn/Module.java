package dev.kindling.nn;

import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base class of layers and models, like PyTorch's nn.Module: a constructor registers named parameters,
 * buffers and child modules; {@link #namedParameters()} and {@link #stateDict()} give dotted names
 * ({@code layer1.weight}) for free.
 *
 * <pre>{@code
 * class SimpleNN extends Module {
 *     final Linear layer1 = register("layer1", new Linear(784, 500));
 *     final Linear layer2 = register("layer2", new Linear(500, 10));
 *     public Tensor forward(Tensor x) { return layer2.forward(layer1.forward(x).relu()); }
 * }
 * }</pre>
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** The module's computation. */
    public abstract Tensor forward(Tensor x);

    /** Registers a child module under {@code name} and returns it. */
    protected <M extends Module> M register(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    /** Registers a trainable parameter (turns on requiresGrad) and returns it; null registers nothing. */
    protected Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        if (value == null) return null;
        value.requiresGrad(true);
        parameters.put(name, value);
        return value;
    }

    /** Registers state that is saved in the state dict but not trained (running statistics, masks). */
    protected Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, value);
        return value;
    }

    /** Replaces a registered buffer's tensor (e.g. running statistics after an update). */
    protected void setBuffer(String name, Tensor value) {
        if (!buffers.containsKey(name)) throw new IllegalArgumentException(getClass().getSimpleName() + ": no buffer named '" + name + "'");
        buffers.put(name, value);
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException("module member name must be non-empty and contain no '.', got '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException(getClass().getSimpleName() + ": '" + name + "' is already registered");
    }

    /** All parameters, depth first, in registration order. */
    public List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Parameters by dotted name. */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, false);
        return out;
    }

    /** Child modules by name (direct children only). */
    public Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /** This module and all descendants by dotted name ("" for this one). */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        out.put("", this);
        for (var e : children.entrySet())
            for (var m : e.getValue().namedModules().entrySet())
                out.put(m.getKey().isEmpty() ? e.getKey() : e.getKey() + "." + m.getKey(), m.getValue());
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out, boolean withBuffers) {
        for (var e : parameters.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        if (withBuffers) for (var e : buffers.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collect(prefix + e.getKey() + ".", out, withBuffers);
    }

    /** Parameters and buffers by dotted name (the live tensors, not copies). */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true);
        return out;
    }

    /** Loads with strict checking: every key must match by name and shape, or nothing is loaded. */
    public void loadStateDict(Map<String, Tensor> state) {
        loadStateDict(state, true);
    }

    /**
     * Copies values into this module's tensors. Strict: missing and unexpected keys are errors. Shape
     * mismatches are always errors. The report lists every problem at once; on error nothing is changed.
     */
    public void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) missing.add(e.getKey());
            else if (!Arrays.equals(src.shape(), e.getValue().shape()))
                mismatched.add(e.getKey() + ": checkpoint " + Arrays.toString(src.shape()) + " vs model " + Arrays.toString(e.getValue().shape()));
        }
        for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        if (!mismatched.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            StringBuilder sb = new StringBuilder("loadStateDict: state dict does not fit " + getClass().getSimpleName());
            if (!missing.isEmpty()) sb.append("\n  missing keys: ").append(missing);
            if (!unexpected.isEmpty()) sb.append("\n  unexpected keys: ").append(unexpected);
            if (!mismatched.isEmpty()) sb.append("\n  shape mismatches: ").append(mismatched);
            throw new IllegalArgumentException(sb.toString());
        }
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src != null) e.getValue().copyFrom(src);
        }
    }

    /** Training mode (dropout active, batch norm uses batch statistics); applies to all descendants. */
    public Module train() {
        return train(true);
    }

    public Module train(boolean on) {
        training = on;
        for (Module c : children.values()) c.train(on);
        return this;
    }

    /** Evaluation mode; same as {@code train(false)}. */
    public Module eval() {
        return train(false);
    }

    public boolean isTraining() {
        return training;
    }

    /** Drops every parameter's gradient. */
    public void zeroGrad() {
        for (Tensor p : parameters()) p.zeroGrad();
    }

    /** Total number of parameter elements. */
    public long parameterCount() {
        long n = 0;
        for (Tensor p : parameters()) n += p.numel();
        return n;
    }

    /** Hyperparameters shown by toString, like PyTorch's extra_repr. */
    protected String extraRepr() {
        return "";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(').append(extraRepr());
        if (!children.isEmpty()) {
            sb.append('\n');
            for (var e : children.entrySet())
                sb.append("  (").append(e.getKey()).append("): ").append(e.getValue().toString().replace("\n", "\n  ")).append('\n');
        }
        return sb.append(')').toString();
    }
}
