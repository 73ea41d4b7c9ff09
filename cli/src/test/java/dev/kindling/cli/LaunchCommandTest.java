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

    private static synchronized Result launch(String mainClass, String... args) {
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

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void ddpTrainingOnTwoRanksMatchesOneProcess(@TempDir Path tmp) throws Exception {
        // 630 examples in batches of 45 (14 Adam steps), split 22 + 23 per rank: the shares are uneven
        String[] common = {"--limit", "630", "--epochs", "1", "--hidden", "16", "--batch-size", "45", "--quiet"};
        Result single = launchFree(concat(new String[] {"train", "mlp", "--out", tmp.resolve("single").toString()}, common));
        assertEquals(0, single.code(), String.join("\n", single.err()));
        Result ddp = launch(null, concat(new String[] {"launch", "--nproc", "2", "--threads-per-proc", "1", "--", "train", "mlp",
                "--parallel", "ddp", "--out", tmp.resolve("ddp").toString()}, common));
        assertEquals(0, ddp.code(), String.join("\n", ddp.err()));
        assertTrue(ddp.out().stream().anyMatch(l -> l.startsWith("[rank 1] SimpleNN 784-16-10") && l.endsWith("rank 1 of 2 (ddp)")), ddp.out().toString());
        Map<String, Tensor> a = StateDicts.load(tmp.resolve("single/model.safetensors")).tensors();
        Map<String, Tensor> b = StateDicts.load(tmp.resolve("ddp/model.safetensors")).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            float[] x = a.get(k).toFloatArray(), y = b.get(k).toFloatArray();
            for (int i = 0; i < x.length; i++)
                assertEquals(x[i], y[i], 1e-5 * Math.max(1e-2, Math.abs(x[i])), k + "[" + i + "]");
        }
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
