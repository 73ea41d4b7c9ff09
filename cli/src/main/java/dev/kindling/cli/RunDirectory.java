package dev.kindling.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.kindling.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training run's output folder: metrics.jsonl (one JSON object per line), config.json, curves.png,
 * model.safetensors and the checkpoint. Every file is written atomically.
 */
final class RunDirectory {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper LINE = new ObjectMapper();

    final Path dir;
    private final List<Map<String, Object>> metrics = new ArrayList<>();

    RunDirectory(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output folder " + dir + ": " + e.getMessage(), e);
        }
    }

    Path file(String name) {
        return dir.resolve(name);
    }

    /** Keeps the first {@code keep} lines of an existing metrics.jsonl (when resuming). */
    void loadMetrics(int keep) throws IOException {
        metrics.clear();
        Path f = file("metrics.jsonl");
        if (!Files.exists(f)) return;
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (line.isBlank() || metrics.size() >= keep) continue;
            @SuppressWarnings("unchecked")
            Map<String, Object> m = LINE.readValue(line, LinkedHashMap.class);
            metrics.add(m);
        }
    }

    List<Map<String, Object>> metrics() {
        return metrics;
    }

    /** Appends one metrics record and rewrites metrics.jsonl. */
    void appendMetrics(Map<String, Object> record) throws IOException {
        metrics.add(record);
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> m : metrics) sb.append(LINE.writeValueAsString(m)).append('\n');
        writeString("metrics.jsonl", sb.toString());
    }

    void writeJson(String name, Object value) throws IOException {
        writeString(name, JSON.writeValueAsString(value) + "\n");
    }

    void writeString(String name, String text) throws IOException {
        AtomicFiles.write(file(name), out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** A metric rounded to 6 decimals, so that the metrics files of identical runs compare equal. */
    static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }
}
