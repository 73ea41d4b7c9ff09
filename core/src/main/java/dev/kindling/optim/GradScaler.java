package dev.kindling.optim;

import dev.kindling.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dynamic loss scaling for F16 mixed precision (PyTorch's {@code torch.amp.GradScaler}). Small gradients
 * underflow in F16; multiplying the loss by a large scale keeps them representable, and dividing the FLOAT32
 * gradients by it before the optimizer step undoes it. When a step's gradients hold Inf or NaN (the scale was
 * too large), the step is skipped and the scale backs off; after {@code growthInterval} good steps in a row it
 * grows again.
 *
 * <pre>{@code
 * var scaler = new GradScaler();
 * try (var ac = Autocast.enable(DType.F16)) { loss = criterion.forward(model.forward(x), y); }
 * scaler.scale(loss).backward();
 * scaler.unscale(optimizer);                           // before clipping, so the norm is the true one
 * GradClip.clipGradNorm(model.parameters(), 1.0);
 * scaler.step(optimizer);                              // skipped when a gradient is Inf/NaN
 * scaler.update();
 * optimizer.zeroGrad();
 * }</pre>
 * A disabled scaler passes everything through (scale 1, no checks), so one loop serves every precision.
 */
public final class GradScaler {
    private final double growthFactor, backoffFactor;
    private final int growthInterval;
    private final boolean enabled;
    private double scale;
    private long growthTracker;
    /** Per step: whether unscale has run, and whether it found a non-finite gradient. */
    private boolean unscaled, foundInf;

    /** PyTorch's defaults: initial scale 2^16, growth 2, backoff 0.5 every 2000 good steps. */
    public GradScaler() {
        this(65536, 2, 0.5, 2000, true);
    }

    /**
     * @throws IllegalArgumentException unless initScale &gt; 0, growthFactor &gt; 1, 0 &lt; backoffFactor &lt; 1 and
     *     growthInterval &gt; 0
     */
    public GradScaler(double initScale, double growthFactor, double backoffFactor, int growthInterval, boolean enabled) {
        if (!(initScale > 0) || Double.isInfinite(initScale))
            throw new IllegalArgumentException("GradScaler: initScale must be positive and finite, got " + initScale);
        if (!(growthFactor > 1)) throw new IllegalArgumentException("GradScaler: growthFactor must be > 1, got " + growthFactor);
        if (!(backoffFactor > 0 && backoffFactor < 1))
            throw new IllegalArgumentException("GradScaler: backoffFactor must be in (0, 1), got " + backoffFactor);
        if (growthInterval <= 0) throw new IllegalArgumentException("GradScaler: growthInterval must be positive, got " + growthInterval);
        this.scale = initScale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
        this.enabled = enabled;
    }

    public boolean isEnabled() {
        return enabled;
    }

    /** The current scale (1 when disabled). */
    public double getScale() {
        return enabled ? scale : 1;
    }

    /** loss times the scale (loss itself when disabled); call backward on the result. */
    public Tensor scale(Tensor loss) {
        return enabled ? loss.mul(scale) : loss;
    }

    /**
     * Divides the gradients of the optimizer's parameters by the scale, in place, and notes whether any is
     * Inf or NaN. At most once per step (between {@link #update()} calls); {@link #step} calls it if needed.
     *
     * @throws IllegalStateException when called a second time in a step
     */
    public void unscale(Optimizer optimizer) {
        if (!enabled) return;
        if (unscaled) throw new IllegalStateException("GradScaler.unscale: already called since the last update()");
        unscaled = true;
        float inv = (float) (1 / scale);
        for (ParamGroup g : optimizer.paramGroups())
            for (Tensor p : g.params) {
                if (p.grad() == null) continue;
                boolean own = Optimizer.ownsArray(p.grad());
                float[] v = Optimizer.values(p.grad());
                for (int i = 0; i < v.length; i++) {
                    float x = v[i] * inv;
                    if (!Float.isFinite(x)) foundInf = true;
                    v[i] = x;
                }
                if (!own) p.setGrad(Tensor.wrap(v, p.grad().shape()));
            }
    }

    /**
     * Unscales (unless done already) and runs {@code optimizer.step()} unless a gradient was Inf or NaN.
     * Returns whether the step was taken.
     */
    public boolean step(Optimizer optimizer) {
        if (!enabled) {
            optimizer.step();
            return true;
        }
        if (!unscaled) unscale(optimizer);
        if (foundInf) return false;
        optimizer.step();
        return true;
    }

    /**
     * Adjusts the scale after a step: times backoffFactor if the step found Inf/NaN, times growthFactor after
     * growthInterval finite steps in a row. Starts the next step.
     *
     * @throws IllegalStateException if no gradients were unscaled since the last update
     */
    public void update() {
        if (!enabled) return;
        if (!unscaled) throw new IllegalStateException("GradScaler.update: no unscale() or step() since the last update()");
        if (foundInf) {
            scale *= backoffFactor;
            growthTracker = 0;
        } else if (++growthTracker == growthInterval) {
            scale = Math.min(scale * growthFactor, Float.MAX_VALUE); // a float scale must stay finite
            growthTracker = 0;
        }
        unscaled = false;
        foundInf = false;
    }

    /** Whether the last unscale found an Inf or NaN gradient (the step is or was skipped). */
    public boolean foundInf() {
        return foundInf;
    }

    /** "scale" (FLOAT32 [1]) and "growth_tracker" (INT64 [1]), for checkpoints. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("scale", Tensor.fromArray(new float[] {(float) scale}, 1)); // a power of two times the init: exact
        out.put("growth_tracker", Tensor.fromLongs(new long[] {growthTracker}, 1));
        return out;
    }

    /** Restores what {@link #stateDict()} saved. */
    public void loadStateDict(Map<String, Tensor> sd) {
        Tensor s = sd.get("scale"), t = sd.get("growth_tracker");
        if (s == null || t == null || s.numel() != 1 || t.numel() != 1)
            throw new IllegalArgumentException("GradScaler state dict needs one-element 'scale' and 'growth_tracker', got keys " + sd.keySet());
        double v = s.item();
        long tracker = t.toLongArray()[0];
        if (!(v > 0) || Double.isInfinite(v)) throw new IllegalArgumentException("GradScaler state dict: scale " + v + " is not positive and finite");
        if (tracker < 0 || tracker >= growthInterval)
            throw new IllegalArgumentException("GradScaler state dict: growth_tracker " + tracker + " is not in [0, " + growthInterval + ")");
        scale = v;
        growthTracker = tracker;
        unscaled = false;
        foundInf = false;
    }
}
