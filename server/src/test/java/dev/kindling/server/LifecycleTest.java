package dev.kindling.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Client disconnects, request timeouts and graceful shutdown on SIGTERM. */
class LifecycleTest {
    /** Polls until the condition holds; fails after a generous minute (a hang, not a slow machine). */
    static void eventually(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("never happened: " + what);
            Thread.sleep(10);
        }
    }

    static String streamingRequest(int port, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: application/json\r\nContent-Length: "
                + b.length + "\r\n\r\n" + body;
    }

    @Test
    void aClientThatDisconnectsMidStreamCancelsItsGenerationAndFreesItsSlot() throws Exception {
        try (var server = InferenceServer.start(Fixtures.options())) {
            int port = server.port();
            try (Socket s = new Socket("127.0.0.1", port)) {
                OutputStream out = s.getOutputStream();
                out.write(streamingRequest(port, "{\"prompt\":\"Once\",\"max_tokens\":500,\"temperature\":0,\"stream\":true}").getBytes(StandardCharsets.UTF_8));
                out.flush();
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                for (String line; (line = in.readLine()) != null; ) if (line.startsWith("data: ")) break;   // the first token came
            } // the client is gone
            eventually("the sequence is cancelled", () -> server.finishedSequences("cancelled") == 1);
            assertEquals(0, server.finishedSequences("length"), "the generation did not run to its end");
            String m = Fixtures.get(port, "/metrics").body();
            assertTrue(m.contains("kindling_generation_active_sequences 0"), m);
            assertEquals(200, Fixtures.post(port, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3}").statusCode());
        }
    }

    @Test
    void requestsPastTheirTimeoutAre504AndTheirSequencesAreDropped() throws Exception {
        try (var server = InferenceServer.start(Fixtures.options().withRequestTimeout(Duration.ofMillis(1)))) {
            int port = server.port();
            var r = Fixtures.post(port, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":500}");
            assertEquals(504, r.statusCode(), r.body());
            assertEquals("timeout", JsonBody.MAPPER.readTree(r.body()).get("error").get("code").asText());
            var s = Fixtures.post(port, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":500,\"stream\":true}");
            List<String> events = s.body().lines().filter(l -> l.startsWith("data: ")).toList();
            assertTrue(events.getLast().contains("\"code\":\"timeout\""), s.body());
            eventually("both sequences are dropped", () -> server.finishedSequences("timeout") + server.finishedSequences("cancelled") == 2);
        }
    }

    @Test
    void sigtermFinishesTheStreamInFlightThenExitsZero() throws Exception {
        Fixtures.make();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                ServeMain.class.getName(), Fixtures.GPT.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            var stdout = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            for (String line; (line = stdout.readLine()) != null; )
                if (line.startsWith("PORT ")) {
                    port = Integer.parseInt(line.substring(5).trim());
                    break;
                }
            assertTrue(port > 0, "the server printed its port");
            var req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":120,\"temperature\":0,\"stream\":true}")).build();
            Iterator<String> lines = Fixtures.CLIENT.send(req, HttpResponse.BodyHandlers.ofLines()).body().iterator();
            List<String> events = new ArrayList<>();
            while (events.isEmpty() && lines.hasNext()) {
                String l = lines.next();
                if (l.startsWith("data: ")) events.add(l.substring(6));
            }
            p.toHandle().destroy(); // SIGTERM, with the stream in flight (Process.destroy would also close our end of its output)
            while (lines.hasNext()) {
                String l = lines.next();
                if (l.startsWith("data: ")) events.add(l.substring(6));
            }
            assertEquals("[DONE]", events.getLast(), "the stream in flight was finished");
            JsonNode last = JsonBody.MAPPER.readTree(events.get(events.size() - 2));
            String reason = last.get("choices").get(0).get("finish_reason").asText();
            assertTrue(reason.equals("length") || reason.equals("stop"), reason);
            List<String> rest = stdout.lines().toList(); // to the end: the process closes its output when it exits
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the server exited");
            assertEquals(0, p.exitValue());
            assertEquals(List.of("STOPPED"), rest);
        } finally {
            p.destroyForcibly();
        }
    }
}
