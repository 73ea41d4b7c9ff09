package dev.kindling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import dev.kindling.io.StateDicts;
import dev.kindling.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class LaunchCommandTest {
    record Result(int code, List<String> out, List<String> err) {}

    static synchronized Result launch(String mainClass, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code;
            if (mainClass == null) code = Main.run(args);
            else {
                LaunchCommand cmd = new LaunchCommand();
                cmd.mainClass = mainClass;
                code = new CommandLine(cmd).execute(args);
            }
            return new Result(code, lines(out), lines(err));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static List<String> lines(ByteArrayOutputStream b) {
        return b.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.contains("incubator modules")).sorted().toList();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyRankRunsTheCommandWithItsRankAndPrefixedOutput() {
        Result r = launch(null, "launch", "--nproc", "2", "--", "--version");
        assertEquals(0, r.code(), String.join("\n", r.err()));
        assertEquals(List.of("[rank 0] kindling 0.1.0", "[rank 1] kindling 0.1.0"), r.out());
        Result env = launch(LaunchProbe.class.getName(), "--nproc", "3", "--threads-per-proc", "1", "--", "ok");
        assertEquals(0, env.code());
        assertEquals(List.of("[rank 0] rank 0 of 3 threads 1 master 127.0.0.1 true", "[rank 1] rank 1 of 3 threads 1 master 127.0.0.1 true",
                "[rank 2] rank 2 of 3 threads 1 master 127.0.0.1 true"), env.out());
    }

    private static final String[] MLP = {"--limit", "630", "--hidden", "16", "--batch-size", "45", "--quiet"};

    private static Result train(Path out, String... extra) {
        return launch(null, concat(concat(new String[] {"train", "mlp", "--out", out.toString()}, MLP), extra));
    }

    private static Result trainParallel(Path out, String mode, String... extra) {
        return launch(null, concat(concat(new String[] {"launch", "--nproc", "2", "--threads-per-proc", "1", "--", "train", "mlp",
                "--parallel", mode, "--out", out.toString()}, MLP), extra));
    }

    private static void assertSameModel(Path a, Path b) throws Exception {
        assertSameModel(a, b, 1e-5);
    }

    /** The two runs' model.safetensors hold the same tensors, within {@code rel} (relative, floor 1e-2). */
    static void assertSameModel(Path a, Path b, double rel) throws Exception {
        Map<String, Tensor> x = StateDicts.load(a.resolve("model.safetensors")).tensors();
        Map<String, Tensor> y = StateDicts.load(b.resolve("model.safetensors")).tensors();
        assertEquals(x.keySet(), y.keySet());
        for (String k : x.keySet()) {
            float[] u = x.get(k).toFloatArray(), v = y.get(k).toFloatArray();
            for (int i = 0; i < u.length; i++)
                assertEquals(u[i], v[i], rel * Math.max(1e-2, Math.abs(u[i])), b.getFileName() + " " + k + "[" + i + "]");
        }
    }

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void ddpAndZeroTrainingOnTwoRanksMatchOneProcess(@TempDir Path tmp) throws Exception {
        // 630 examples in batches of 45 (14 Adam steps), split 22 + 23 per rank: the shares are uneven
        Result single = train(tmp.resolve("single"), "--epochs", "1");
        assertEquals(0, single.code(), String.join("\n", single.err()));
        for (String mode : new String[] {"ddp", "zero2", "tp"}) {
            Result r = trainParallel(tmp.resolve(mode), mode, "--epochs", "1");
            assertEquals(0, r.code(), String.join("\n", r.err()));
            assertTrue(r.out().stream().anyMatch(l -> l.startsWith("[rank 1] SimpleNN 784-16-10") && l.endsWith("rank 1 of 2 (" + mode + ")")), r.out().toString());
            assertSameModel(tmp.resolve("single"), tmp.resolve(mode));
        }
    }

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void aParallelCheckpointResumesInOneProcess(@TempDir Path tmp) throws Exception {
        Result whole = train(tmp.resolve("whole"), "--epochs", "2");
        assertEquals(0, whole.code(), String.join("\n", whole.err()));
        Result first = trainParallel(tmp.resolve("split"), "zero1", "--epochs", "1");
        assertEquals(0, first.code(), String.join("\n", first.err()));
        Result rest = launch(null, "train", "mlp", "--resume", tmp.resolve("split").toString(), "--epochs", "2", "--quiet");
        assertEquals(0, rest.code(), String.join("\n", rest.err()));
        assertSameModel(tmp.resolve("whole"), tmp.resolve("split"));
    }

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void killingARankMidTrainingStopsTheRunAndItResumesFromTheLastCheckpoint(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("killed");
        var result = new java.util.concurrent.CompletableFuture<Result>();
        Thread.ofPlatform().start(() -> result.complete(trainParallel(dir, "ddp", "--epochs", "12")));
        Path checkpoint = dir.resolve("checkpoint.safetensors");
        while (!java.nio.file.Files.exists(checkpoint) && !result.isDone()) Thread.sleep(20);
        // the launcher runs in this JVM and started rank 0 first: the later of its two child JVMs is rank 1 (their
        // command lines are not matched: with a long class path the JDK may not report them)
        List<ProcessHandle> ranks = ProcessHandle.current().children()
                .filter(h -> h.info().command().orElse("").endsWith("java"))
                .sorted(java.util.Comparator.comparing(h -> h.info().startInstant().orElseThrow())).toList();
        assertEquals(2, ranks.size(), "training ranks running: " + ranks);
        ranks.get(1).destroyForcibly();
        Result killed = result.get();
        assertTrue(killed.code() != 0, "the launcher must fail when a rank dies");
        assertTrue(killed.err().stream().anyMatch(l -> l.startsWith("launch: rank 1 exited with code ")), killed.err().toString());
        // rank 0 was given the time to fail by itself, naming the collective and the dead rank
        assertTrue(killed.err().stream().anyMatch(l -> l.matches(
                "\\[rank 0] kindling mlp: (allReduce|barrier) #\\d+ on rank 0 of 2 failed: rank 1 stopped responding or died; here: .*")),
                killed.err().toString());
        Result resumed = launch(null, "train", "mlp", "--resume", dir.toString(), "--epochs", "12");
        assertEquals(0, resumed.code(), String.join("\n", resumed.err()));
        assertTrue(resumed.out().stream().anyMatch(l -> l.startsWith("resuming ")), resumed.out().toString());
        assertTrue(resumed.out().stream().anyMatch(l -> l.startsWith("epoch 12/12")), resumed.out().toString());
    }

    private static Result launchFree(String... args) {
        return launch(null, args);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aRankThatFailsStopsTheOthersAndTheLauncherExitsWithItsCode() {
        Result r = launch(LaunchProbe.class.getName(), "--nproc", "2", "--", "fail");
        assertEquals(7, r.code());
        assertTrue(r.err().contains("[rank 1] rank 1 gives up"), r.err().toString());
        assertTrue(r.err().contains("launch: rank 1 exited with code 7; stopping the other ranks"), r.err().toString());
    }
}
