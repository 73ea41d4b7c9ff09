package dev.kindling.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Ranks as separate JVMs that rendezvous through torchrun-style environment variables. */
class MultiProcessTest {
    private static Process start(int rank, int worldSize, int port, String mode) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), RankMain.class.getName(), mode);
        pb.environment().put("MASTER_ADDR", "127.0.0.1");
        pb.environment().put("MASTER_PORT", Integer.toString(port));
        pb.environment().put("RANK", Integer.toString(rank));
        pb.environment().put("WORLD_SIZE", Integer.toString(worldSize));
        pb.environment().put("KINDLING_DIST_TIMEOUT", "30");
        pb.redirectError(ProcessBuilder.Redirect.INHERIT); // the JVM warns about the incubator module on stderr
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static List<String> lines(Process p) throws IOException {
        List<String> out = new ArrayList<>();
        try (var r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            for (String l; (l = r.readLine()) != null; ) out.add(l);
        }
        return out;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void twoProcessesRendezvousFromTheEnvironmentAndReduce() throws Exception {
        int port = freePort();
        Process p0 = start(0, 2, port, "collectives"), p1 = start(1, 2, port, "collectives");
        try {
            List<String> out1 = lines(p1), out0 = lines(p0);
            assertEquals(0, p0.waitFor(), String.join("\n", out0));
            assertEquals(0, p1.waitFor(), String.join("\n", out1));
            assertEquals(List.of("ok rank 0 of 2"), out0);
            assertEquals(List.of("ok rank 1 of 2"), out1);
        } finally {
            p0.destroyForcibly(); // a failed assertion must not leave ranks running
            p1.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void killingAProcessMidAllReduceFailsThePeerNamingIt() throws Exception {
        int port = freePort();
        Process p0 = start(0, 2, port, "fault"), p1 = start(1, 2, port, "fault");
        try {
            var r1 = new BufferedReader(new InputStreamReader(p1.getInputStream()));
            assertEquals("ready rank 1", r1.readLine());
            Thread.sleep(300); // both are looping over 4 MiB all-reduces now
            p1.destroyForcibly().waitFor();
            List<String> out0 = lines(p0);
            assertEquals(3, p0.waitFor(), String.join("\n", out0));
            String last = out0.getLast();
            System.out.println(last);
            assertTrue(last.matches("failed: allReduce #\\d+ on rank 0 of 2 failed: rank 1 stopped responding or died; here: .*"), last);
        } finally {
            p0.destroyForcibly();
            p1.destroyForcibly();
        }
    }
}
