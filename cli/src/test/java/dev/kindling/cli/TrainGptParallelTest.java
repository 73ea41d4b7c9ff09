package dev.kindling.cli;

import static dev.kindling.cli.LaunchCommandTest.assertSameModel;
import static dev.kindling.cli.LaunchCommandTest.launch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train gpt --parallel} under {@code kindling launch}: every mode trains the same model as one process,
 * and checkpoints move between parallel runs, single processes and world sizes.
 */
class TrainGptParallelTest {
    /** A tiny GPT on 1-digit addition: 10 AdamW steps, checkpoints at 5 and 10, gradient clipping on. */
    private static final String[] GPT = {"--digits", "1", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--max-iters", "10",
            "--batch-size", "8", "--eval-interval", "5", "--eval-iters", "2", "--warmup", "2", "--grad-clip", "0.5", "--quiet"};

    private static LaunchCommandTest.Result single(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "gpt", "--out", out.toString()));
        a.addAll(List.of(GPT));
        a.addAll(List.of(extra));
        return launch(null, a.toArray(String[]::new));
    }

    private static LaunchCommandTest.Result parallel(int nproc, String mode, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("launch", "--nproc", Integer.toString(nproc), "--threads-per-proc", "1", "--",
                "train", "gpt", "--parallel", mode, "--out", out.toString()));
        a.addAll(List.of(GPT));
        a.addAll(List.of(extra));
        return launch(null, a.toArray(String[]::new));
    }

    private static void ok(LaunchCommandTest.Result r) {
        assertEquals(0, r.code(), String.join("\n", r.err()) + "\n" + String.join("\n", r.out()));
    }

    @Test
    @Timeout(value = 900, unit = TimeUnit.SECONDS)
    void everyModeAndEveryCheckpointHandOverMatchOneProcess(@TempDir Path tmp) throws Exception {
        Path reference = tmp.resolve("single");
        ok(single(reference));

        // ZeRO-2 over 2 ranks, each with half of every batch: the same model
        ok(parallel(2, "zero2", tmp.resolve("zero2")));
        assertSameModel(reference, tmp.resolve("zero2"), 1e-4);

        // a tensor-parallel checkpoint (blocks split over 2 ranks) resumes in one process
        Path tp = tmp.resolve("tp");
        LaunchCommandTest.Result first = parallel(2, "tp", tp, "--stop-at", "5");
        ok(first);
        assertTrue(first.out().contains("[rank 1] GPT 1 layers, 2 heads, 16 wide, block 5, vocabulary 12: 0.00M parameters; 1 threads; fp32; rank 1 of 2 (tp)"),
                first.out().toString());
        ok(single(tp, "--resume", tp.toString()));
        assertSameModel(reference, tp, 1e-4);

        // and the reverse: a single-process checkpoint resumes as DDP over 3 ranks (batches of 8 split 2, 3, 3)
        Path ddp = tmp.resolve("ddp");
        ok(single(ddp, "--stop-at", "5"));
        LaunchCommandTest.Result rest = parallel(3, "ddp", ddp, "--resume", ddp.toString());
        ok(rest);
        assertTrue(rest.out().contains("[rank 0] resuming " + ddp + " at iteration 5"), rest.out().toString());
        assertSameModel(reference, ddp, 1e-4);
    }

    @Test
    void anUnknownModeIsRefused() {
        LaunchCommandTest.Result r = launch(null, "train", "gpt", "--parallel", "pipeline");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("kindling gpt: --parallel must be none, ddp, zero1, zero2 or tp, got 'pipeline'"), r.err().toString());
    }
}
