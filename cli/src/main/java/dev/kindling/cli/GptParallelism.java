package dev.kindling.cli;

import dev.kindling.data.Batch;
import dev.kindling.distributed.DistributedDataParallel;
import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.ReduceOp;
import dev.kindling.distributed.ShardLayout;
import dev.kindling.distributed.ShardedOptimizer;
import dev.kindling.distributed.TensorParallel;
import dev.kindling.models.Gpt;
import dev.kindling.nn.Module;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.GradClip;
import dev.kindling.optim.GradScaler;
import dev.kindling.optim.LRSchedule;
import dev.kindling.optim.ParamGroup;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How {@code train gpt} runs a training step and saves or restores its state in each {@code --parallel}
 * mode (none, ddp, zero1, zero2, tp). The optimizer is nanoGPT's AdamW (betas 0.9/0.99, weight decay on
 * matrices only); the state it saves and loads is always in the single-process layout.
 */
final class GptParallelism {
    private final Gpt model;
    private final ProcessGroup pg;
    private final double gradClip;
    private final DistributedDataParallel ddp;
    private final ShardedOptimizer zero;
    private final AdamW optimizer;
    private final TensorParallelGpt tp;
    private final List<List<String>> groupNames;
    private final Map<String, ShardLayout> layouts;
    private final Precision precision;
    private final GradScaler scaler;

    /** Sets up {@code par}'s mode around {@code model} (loaded from a checkpoint already, when resuming). */
    GptParallelism(Gpt model, ParallelOptions par, ProcessGroup pg, double lr, double weightDecay, double gradClip,
                   Precision precision) {
        this.model = model;
        this.precision = precision;
        this.scaler = precision.scaler();
        this.pg = pg;
        this.gradClip = gradClip;
        ddp = pg != null && par.parallel.equals("ddp") ? new DistributedDataParallel(model, pg) : null;
        tp = pg != null && par.tensorParallel() ? new TensorParallelGpt(model.config, model.stateDict(), pg) : null;
        if (pg != null && par.zero()) {
            zero = ShardedOptimizer.ofGroups(paramGroups(model, lr, weightDecay), pg, par.stage(), g -> new AdamW(g, 0.9, 0.99, 1e-8));
            zero.setMaxGradNorm(gradClip);
            optimizer = null;
        } else {
            zero = null;
            optimizer = new AdamW(paramGroups(module(), lr, weightDecay), 0.9, 0.99, 1e-8);
        }
        if (tp != null) {
            groupNames = ParallelOptions.groupNames(optimizer.paramGroups(), tp.namedParameters());
            List<List<String>> twin = ParallelOptions.groupNames(paramGroups(model, lr, weightDecay), model.namedParameters());
            if (!groupNames.equals(twin))
                throw new IllegalStateException("TensorParallelGpt: parameters " + groupNames + " do not line up with Gpt's " + twin);
            layouts = TensorParallel.layouts(tp);
        } else {
            groupNames = null;
            layouts = null;
        }
    }

    /** AdamW groups as nanoGPT's configure_optimizers: decay for matrices (dim >= 2), none for biases and norms. */
    static List<ParamGroup> paramGroups(Module m, double lr, double weightDecay) {
        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Tensor p : m.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
        return List.of(new ParamGroup(decay, lr, weightDecay), new ParamGroup(noDecay, lr, 0));
    }

    /** The module to run forward (this rank's part of the GPT under tp). */
    Module module() {
        return tp != null ? tp : model;
    }

    /** Whether ranks can evaluate different batches (the same full model on every rank). */
    boolean splitsEvaluation() {
        return pg != null && tp == null;
    }

    void setLr(LRSchedule schedule, int iter) {
        if (zero == null) schedule.apply(optimizer, iter);
        else if (zero.shardOptimizer() != null) schedule.apply(zero.shardOptimizer(), iter);
    }

    /**
     * Forward and backward of one micro-batch (this rank's rows of it under ddp/zero), the loss scaled by
     * 1/accum; returns this rank's contribution to the batch's mean loss. Under ddp, all micro-batches but
     * the last run inside noSync.
     */
    double backward(Batch b, int accum, boolean last) {
        if (pg == null || tp != null) {
            Tensor loss;
            try (var ac = precision.autocast()) {
                loss = TrainGptCommand.lmLoss(module().forward(b.input()), b.target()).div(accum);
            }
            scaler.scale(loss).backward();
            return loss.item();
        }
        int size = b.size();
        int[] share = ParallelOptions.share(size, pg);
        int len = share[1] - share[0];
        if (len == 0) return 0; // more ranks than rows: this rank contributes zeros
        Tensor loss;
        try (var ac = precision.autocast()) {
            loss = TrainGptCommand.lmLoss(model.forward(b.input().narrow(0, share[0], len)), b.target().narrow(0, share[0], len));
        }
        Tensor scaled = scaler.scale(loss.mul((double) pg.worldSize() * len / size / accum));
        if (ddp != null && !last) {
            try (var scope = ddp.noSync()) {
                scaled.backward();
            }
        } else {
            scaled.backward();
        }
        return (double) loss.item() * len / size / accum;
    }

    /** The loss scaler of {@code --precision fp16} (a pass-through one otherwise); its state is checkpointed. */
    GradScaler scaler() {
        return scaler;
    }

    double step(double lossSum) {
        if (ddp != null) ddp.syncGradients(); // before any other collective: the communication thread owns the group until then
        if (pg != null && tp == null) {
            float[] slot = {(float) lossSum};
            pg.allReduce(slot, ReduceOp.SUM);
            lossSum = slot[0];
        }
        if (zero != null) {
            zero.step(); // averages, clips and updates
            zero.zeroGrad();
            return lossSum;
        }
        scaler.unscale(optimizer); // clipping needs the true gradient norm
        if (gradClip > 0) {
            if (tp != null) TensorParallel.clipGradNorm(tp, gradClip, pg);
            else GradClip.clipGradNorm(model.parameters(), gradClip);
        }
        scaler.step(optimizer); // skipped when fp16 gradients hold Inf/NaN
        scaler.update();
        optimizer.zeroGrad();
        return lossSum;
    }

    /** The model's state dict in the single-process layout (gathered under tp: a collective). */
    Map<String, Tensor> modelState() {
        return tp != null ? TensorParallel.gather(tp.stateDict(), layouts, pg) : model.stateDict();
    }

    /** The optimizer's state dict in the single-process layout (gathered under zero and tp: a collective). */
    Map<String, Tensor> optimizerState() {
        if (zero != null) return zero.stateDict();
        if (tp != null) return ParallelOptions.gatherOptimizerState(optimizer.stateDict(), groupNames, layouts, pg);
        return optimizer.stateDict();
    }

    /** Restores optimizer state saved in the single-process layout (by any mode and world size). */
    void loadOptimizerState(Map<String, Tensor> sd) {
        if (zero != null) zero.loadStateDict(sd);
        else if (tp != null) optimizer.loadStateDict(ParallelOptions.sliceOptimizerState(sd, groupNames, layouts));
        else optimizer.loadStateDict(sd);
    }
}
