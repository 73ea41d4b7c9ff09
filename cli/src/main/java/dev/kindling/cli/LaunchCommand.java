package dev.kindling.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code kindling launch --nproc N -- <kindling command>}: torchrun for Kindling on one machine. Starts N
 * JVMs running the command with the rendezvous environment set (MASTER_ADDR, MASTER_PORT, RANK,
 * LOCAL_RANK, WORLD_SIZE), prefixes each output line with its rank, and when a rank exits with an error
 * stops the others and exits with that rank's code. The others first get a few seconds to exit by
 * themselves: a rank whose peer died fails its next collective at once, and its error — naming the
 * collective and the dead rank — is worth seeing.
 */
@Command(name = "launch", mixinStandardHelpOptions = true,
        description = "Run a kindling command as N local processes that form one process group.")
final class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc", required = true, description = "Number of processes (ranks).")
    int nproc;
    @Option(names = "--threads-per-proc", description = "Kernel threads per process (default: cores / nproc, at least 1).")
    Integer threadsPerProc;
    @Option(names = "--master-port", description = "Port of the rendezvous store on 127.0.0.1 (default: a free port).")
    Integer masterPort;
    @Option(names = "--timeout", defaultValue = "120", description = "Seconds a collective waits for a peer before failing (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;
    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The kindling command each rank runs (after --).")
    List<String> command;

    /** How long the other ranks may take to report a failed rank themselves before they are stopped. */
    static final int GRACE_SECONDS = 10;

    /** The class each rank runs; tests substitute their own. */
    String mainClass = Main.class.getName();

    @Override
    public Integer call() throws Exception {
        if (nproc < 1) throw new IllegalArgumentException("launch: --nproc must be >= 1, got " + nproc);
        int threads = threadsPerProc != null ? threadsPerProc : Math.max(1, Runtime.getRuntime().availableProcessors() / nproc);
        if (threads < 1) throw new IllegalArgumentException("launch: --threads-per-proc must be >= 1, got " + threads);
        int port = masterPort != null ? masterPort : freePort();
        List<Process> procs = new ArrayList<>();
        Thread killer = new Thread(() -> procs.forEach(Process::destroyForcibly));
        Runtime.getRuntime().addShutdownHook(killer); // Ctrl-C on the launcher stops every rank
        List<Thread> pumps = new ArrayList<>();
        try {
            for (int r = 0; r < nproc; r++) {
                ProcessBuilder pb = new ProcessBuilder(javaCommand(threads));
                pb.environment().put("MASTER_ADDR", "127.0.0.1");
                pb.environment().put("MASTER_PORT", Integer.toString(port));
                pb.environment().put("RANK", Integer.toString(r));
                pb.environment().put("LOCAL_RANK", Integer.toString(r));
                pb.environment().put("WORLD_SIZE", Integer.toString(nproc));
                pb.environment().put("KINDLING_DIST_TIMEOUT", Integer.toString(timeoutSeconds));
                Process p = pb.start();
                procs.add(p);
                pumps.add(pump(p.getInputStream(), System.out, r));
                pumps.add(pump(p.getErrorStream(), System.err, r));
            }
            int failed = -1, code = 0;
            List<Process> running = new ArrayList<>(procs);
            while (!running.isEmpty() && failed < 0) {
                for (var it = running.iterator(); it.hasNext(); ) {
                    Process p = it.next();
                    if (p.waitFor(50, TimeUnit.MILLISECONDS)) {
                        it.remove();
                        if (p.exitValue() != 0) {
                            failed = procs.indexOf(p);
                            code = p.exitValue();
                            break;
                        }
                    }
                }
            }
            if (failed >= 0) {
                System.err.println("launch: rank " + failed + " exited with code " + code + "; stopping the other ranks");
                long graceEnd = System.nanoTime() + Math.min(timeoutSeconds, GRACE_SECONDS) * 1_000_000_000L;
                for (Process p : running) p.waitFor(Math.max(0, graceEnd - System.nanoTime()), TimeUnit.NANOSECONDS);
                for (Process p : running) p.destroy();
                for (Process p : running) if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly();
            }
            for (Thread t : pumps) t.join(2000);
            return failed >= 0 ? (code > 0 ? code : 1) : 0;
        } finally {
            for (Process p : procs) p.destroyForcibly();
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    private List<String> javaCommand(int threads) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // the launcher's own JVM flags (incubator modules, heap), minus a thread setting it may carry
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (!a.startsWith("-Dkindling.threads=") && !a.startsWith("-agentlib") && !a.startsWith("-javaagent")) cmd.add(a);
        cmd.add("-Dkindling.threads=" + threads);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(command);
        return cmd;
    }

    private static Thread pump(InputStream in, PrintStream out, int rank) {
        return Thread.ofPlatform().daemon().name("launch-rank-" + rank).start(() -> {
            try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (out) {
                        out.println("[rank " + rank + "] " + line);
                    }
                }
            } catch (IOException e) {
                // the rank was killed: its pipe closes
            }
        });
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
