package dev.kindling.cli;

import dev.kindling.io.StateDicts;
import dev.kindling.optim.GradScaler;
import dev.kindling.tensor.Autocast;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.Map;

/**
 * The {@code --precision} option of the train recipes: fp32, or the forward pass under {@link Autocast} in bf16 or
 * fp16 with FLOAT32 master weights; fp16 also scales the loss with a {@link GradScaler}, whose state goes into
 * the checkpoint under "scaler.".
 */
enum Precision {
    FP32(null), BF16(DType.BF16), FP16(DType.F16);

    private final DType dtype;

    Precision(DType dtype) {
        this.dtype = dtype;
    }

    static Precision parse(String s) {
        return switch (s) {
            case "fp32" -> FP32;
            case "bf16" -> BF16;
            case "fp16" -> FP16;
            default -> throw new IllegalArgumentException("--precision must be fp32, bf16 or fp16, got '" + s + "'");
        };
    }

    /** The option's spelling. */
    String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The scope the forward pass and the loss run in. */
    Autocast.Scope autocast() {
        return dtype == null ? Autocast.disabled() : Autocast.enable(dtype);
    }

    /** PyTorch's default dynamic scaler for fp16; a pass-through one otherwise. */
    GradScaler scaler() {
        return new GradScaler(65536, 2, 0.5, 2000, this == FP16);
    }

    /** The scaler's state keyed for a checkpoint ("scaler.scale", ...), empty when it is disabled. */
    static Map<String, Tensor> scalerState(GradScaler scaler) {
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        if (scaler.isEnabled()) scaler.stateDict().forEach((k, v) -> out.put("scaler." + k, v));
        return out;
    }

    /** Restores an enabled scaler from a checkpoint's tensors; a checkpoint without scaler state is refused. */
    static void loadScaler(GradScaler scaler, Map<String, Tensor> checkpoint, Object where) {
        if (!scaler.isEnabled()) return;
        Map<String, Tensor> s = StateDicts.withPrefix(checkpoint, "scaler.");
        if (s.isEmpty())
            throw new IllegalArgumentException("--resume " + where + ": the checkpoint has no GradScaler state; the run was not trained with --precision fp16");
        scaler.loadStateDict(s);
    }
}
