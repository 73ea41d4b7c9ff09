package dev.kindling.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * CPU time of every thread of this JVM, JVM-internal ones included (GC workers, JIT compilers), grouped by
 * role: what a rank's process spends besides its training thread. Read from Linux's per-thread scheduler
 * statistics ({@code /proc/self/task/TID/schedstat}, nanoseconds), because {@code ThreadMXBean} does not see
 * the GC and compiler threads; on other systems the snapshot is empty.
 */
final class ThreadCpu {
    private ThreadCpu() {}

    /** CPU nanoseconds per thread id, with the thread's name. */
    record Snapshot(Map<Long, String> names, Map<Long, Long> nanos) {}

    static Snapshot snapshot() {
        Map<Long, String> names = new LinkedHashMap<>();
        Map<Long, Long> nanos = new LinkedHashMap<>();
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) return new Snapshot(names, nanos);
        try (Stream<Path> s = Files.list(tasks)) {
            for (Path t : (Iterable<Path>) s::iterator) {
                try {
                    long tid = Long.parseLong(t.getFileName().toString());
                    String stat = Files.readString(t.resolve("schedstat")).trim();
                    nanos.put(tid, Long.parseLong(stat.substring(0, stat.indexOf(' '))));
                    names.put(tid, Files.readString(t.resolve("comm")).trim());
                } catch (IOException | RuntimeException e) {
                    // the thread ended between listing and reading: it has no time to add
                }
            }
        } catch (IOException e) {
            return new Snapshot(names, nanos);
        }
        return new Snapshot(names, nanos);
    }

    /**
     * CPU milliseconds per role between two snapshots, divided by {@code per}: "main" (the thread that
     * called {@link #snapshot()} as {@code mainName}), "comm" (DDP's communication thread), "gc", "jit",
     * "kernels" (the intra-op pool) and "other".
     */
    static Map<String, Double> byRole(Snapshot before, Snapshot after, String mainName, int per) {
        Map<String, Double> out = new TreeMap<>();
        for (String role : new String[] {"main", "comm", "gc", "jit", "kernels", "other"}) out.put(role, 0.0);
        after.nanos().forEach((tid, ns) -> {
            long d = ns - before.nanos().getOrDefault(tid, 0L);
            out.merge(role(after.names().get(tid), mainName), d / 1e6 / per, Double::sum);
        });
        return out;
    }

    private static String role(String name, String mainName) {
        // the launcher's threads keep the process name; the one that runs main() is the training thread
        if (name.equals(mainName) || name.equals("java")) return "main";
        if (name.startsWith("kindling-ddp")) return "comm";
        if (name.startsWith("GC Thread") || name.startsWith("G1") || name.contains("GC")) return "gc";
        if (name.contains("CompilerThre")) return "jit";
        if (name.matches("kindling-\\d+")) return "kernels";
        return "other";
    }
}
