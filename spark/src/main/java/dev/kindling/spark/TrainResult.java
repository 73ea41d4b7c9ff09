package dev.kindling.spark;

import java.io.Serializable;
import java.util.List;

/**
 * The outcome of {@link SparkTrainer#fit}.
 *
 * @param modelPath the folder holding model.safetensors and config.json (null without an output folder)
 * @param steps one entry per optimizer step, from step 0 (steps of earlier attempts come from the checkpoint)
 * @param resumedFromStep the step the successful attempt started at: 0 for a run that never failed, the
 *     checkpoint's step when Spark re-ran the stage after a failure
 * @param worldSize the number of ranks (barrier tasks)
 * @param seconds wall time of the training stage on the driver, retries included
 */
public record TrainResult(String modelPath, List<StepMetrics> steps, int resumedFromStep, int worldSize, double seconds)
        implements Serializable {
    /** The last step's loss. */
    public double finalLoss() {
        return steps.get(steps.size() - 1).loss();
    }
}
