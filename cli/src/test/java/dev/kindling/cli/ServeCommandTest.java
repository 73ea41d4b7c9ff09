package dev.kindling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kindling serve} turns bad options into one clear line and exit code 2 (the server itself is tested in server/). */
class ServeCommandTest {
    static String runFailing(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, Main.run(args));
        } finally {
            System.setErr(old);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void badOptionsAndFoldersAreNamed(@TempDir Path dir) {
        assertTrue(runFailing("serve", "--model", dir.toString(), "--max-batch", "0").contains("--max-batch must be at least 1, got 0"));
        assertTrue(runFailing("serve", "--model", dir.toString(), "--port", "70000").contains("--port 70000 is outside [0, 65535]"));
        assertTrue(runFailing("serve", "--model", dir.resolve("missing").toString(), "--port", "0").contains("is not a folder"));
        assertTrue(runFailing("serve", "--model", dir.toString(), "--port", "0").contains("has no tokenizer.json"));
    }
}
